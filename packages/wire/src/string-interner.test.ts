import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StringInterner } from "./string-interner";

describe("the string interner", () => {
  it("returns what utf8Slice decodes, for any bytes, through any collisions (fast-check)", () => {
    // Two slots and short strings: nearly every lookup collides or replaces a slot.
    const interners = [new StringInterner({ slots: 2, maxBytes: 8 }), new StringInterner()];
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.constantFrom(...["a", "b", "ab", "ba", "é", "\ud800"].map((s) => Buffer.from(s)))),
          { maxLength: 50 },
        ),
        (list) => {
          for (const interner of interners) {
            for (const bytes of list) {
              const buf = Buffer.concat([Buffer.from([7]), bytes, Buffer.from([9])]);
              expect(interner.get(buf, 1, 1 + bytes.length)).toBe(buf.toString("utf8", 1, 1 + bytes.length));
              expect(interner.nonAscii).toBe(bytes.some((b) => b >= 0x80));
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("hands out the same string object for the same bytes", () => {
    const interner = new StringInterner();
    const first = interner.get(Buffer.from("sk-client-0001"), 0, 14);
    const copy = Buffer.from("xxsk-client-0001");
    expect(interner.get(copy, 2, 16)).toBe(first);
    expect(interner.get(Buffer.from("sk-client-0002"), 0, 14)).toBe("sk-client-0002");
  });

  it("refuses a slot count that is not a power of two, and stays exact while 1,000 strings churn through 4 slots", () => {
    expect(() => new StringInterner({ slots: 3 })).toThrow(RangeError);
    expect(() => new StringInterner({ maxBytes: -1 })).toThrow(RangeError);
    const interner = new StringInterner({ slots: 4, maxBytes: 4 });
    for (let i = 0; i < 10_000; i++) {
      const text = String(i % 1000).padStart(4, "0");
      expect(interner.get(Buffer.from(text), 0, 4)).toBe(text);
    }
  });
});
