import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isBridgeError } from "../errors";
import { encodeCommand, encodeValue, RespDecoder, type RespValue } from "./resp-codec";

const bulk = (text: string): RespValue => ({ type: "bulk", value: Buffer.from(text) });

/** Decodes `bytes` fed in the given chunk sizes (cycled). */
function decodeInChunks(bytes: Buffer, sizes: readonly number[]): RespValue[] {
  const decoder = new RespDecoder();
  const values: RespValue[] = [];
  let offset = 0;
  let index = 0;
  while (offset < bytes.length) {
    const size = Math.max(1, sizes[index % sizes.length] ?? 1);
    values.push(...decoder.push(bytes.subarray(offset, offset + size)));
    offset += size;
    index += 1;
  }
  expect(decoder.pendingBytes).toBe(0);
  return values;
}

describe("RESP2 encoding", () => {
  it("encodes a command as an array of bulk strings", () => {
    expect(encodeCommand(["LPOP", "usage", "500"]).toString()).toBe("*3\r\n$4\r\nLPOP\r\n$5\r\nusage\r\n$3\r\n500\r\n");
    expect(encodeCommand(["AUTH", "kéy"]).toString()).toBe("*2\r\n$4\r\nAUTH\r\n$4\r\nkéy\r\n");
    expect(encodeCommand([]).toString()).toBe("*0\r\n");
  });

  it("encodes every value type", () => {
    expect(encodeValue({ type: "simple", value: "OK" }).toString()).toBe("+OK\r\n");
    expect(encodeValue({ type: "error", message: "NOAUTH Authentication required." }).toString()).toBe(
      "-NOAUTH Authentication required.\r\n",
    );
    expect(encodeValue({ type: "integer", value: -12 }).toString()).toBe(":-12\r\n");
    expect(encodeValue({ type: "bulk", value: null }).toString()).toBe("$-1\r\n");
    expect(encodeValue({ type: "array", value: null }).toString()).toBe("*-1\r\n");
    expect(encodeValue({ type: "array", value: [] }).toString()).toBe("*0\r\n");
    expect(encodeValue({ type: "array", value: [bulk("message"), bulk("usage"), bulk('{"a":1}')] }).toString()).toBe(
      '*3\r\n$7\r\nmessage\r\n$5\r\nusage\r\n$7\r\n{"a":1}\r\n',
    );
  });
});

describe("RESP2 decoding", () => {
  it("decodes literal replies of the usage queue", () => {
    const decoder = new RespDecoder();
    expect(decoder.push(Buffer.from("+OK\r\n"))).toEqual([{ type: "simple", value: "OK" }]);
    expect(decoder.push(Buffer.from("-WRONGPASS invalid management key\r\n"))).toEqual([
      { type: "error", message: "WRONGPASS invalid management key" },
    ]);
    expect(decoder.push(Buffer.from("*-1\r\n*0\r\n$-1\r\n:1\r\n"))).toEqual([
      { type: "array", value: null },
      { type: "array", value: [] },
      { type: "bulk", value: null },
      { type: "integer", value: 1 },
    ]);
    // An array whose last element has not fully arrived yet: nothing until it has.
    expect(decoder.push(Buffer.from('*2\r\n$9\r\n{"a":"b"}\r\n$0\r\n\r'))).toEqual([]);
    expect(decoder.push(Buffer.from("\n"))).toEqual([{ type: "array", value: [bulk('{"a":"b"}'), bulk("")] }]);
  });

  it("takes a bulk string's bytes as they are (CRLF and binary inside)", () => {
    const payload = Buffer.from([0x7b, 0x0d, 0x0a, 0x00, 0xff, 0x7d]);
    const values = new RespDecoder().push(Buffer.concat([Buffer.from(`$${payload.length}\r\n`), payload, Buffer.from("\r\n")]));
    expect(values).toEqual([{ type: "bulk", value: payload }]);
  });

  it("gives the same values whatever the chunking (every split point of a reply)", () => {
    const reply = encodeValue({
      type: "array",
      value: [bulk('{"timestamp":"2026-01-10T14:46:59.123456789+08:00"}'), bulk(""), { type: "bulk", value: null }, bulk("é")],
    });
    const whole = new RespDecoder().push(reply);
    expect(whole).toHaveLength(1);
    for (let split = 1; split < reply.length; split += 1) {
      const decoder = new RespDecoder();
      expect([...decoder.push(reply.subarray(0, split)), ...decoder.push(reply.subarray(split))]).toEqual(whole);
    }
  });

  it("round-trips random values through random chunkings", () => {
    const leaf: fc.Arbitrary<RespValue> = fc.oneof(
      fc.string({ unit: "grapheme" }).map((text): RespValue => ({ type: "simple", value: text.replace(/[\r\n]/g, " ") })),
      fc.string().map((text): RespValue => ({ type: "error", message: text.replace(/[\r\n]/g, " ") })),
      fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }).map((value): RespValue => ({ type: "integer", value })),
      fc
        .option(fc.uint8Array({ maxLength: 300 }), { nil: null })
        .map((bytes): RespValue => ({ type: "bulk", value: bytes === null ? null : Buffer.from(bytes) })),
    );
    const value = fc.letrec<{ value: RespValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.option(fc.array(tie("value"), { maxLength: 6 }), { nil: null }).map((items): RespValue => ({ type: "array", value: items })),
      ),
    })).value;
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 8 }),
        (values, sizes) => {
          const bytes = Buffer.concat(values.map(encodeValue));
          expect(decodeInChunks(bytes, sizes)).toEqual(values);
        },
      ),
    );
  });

  it.each([
    ["an unknown type byte", "?what\r\n"],
    ["CR without LF", "+OK\rX\n"],
    ["a bulk length that is not a number", "$abc\r\n"],
    ["a bulk string without its CRLF", "$2\r\nabXY"],
    ["a negative array length other than -1", "*-2\r\n"],
    ["a bulk longer than the limit", "$99999999999\r\n"],
  ])("refuses %s with BRIDGE_PROTOCOL_ERROR", (_name, text) => {
    expect(() => new RespDecoder({ maxBulkBytes: 1024 }).push(Buffer.from(text))).toThrow(
      expect.objectContaining({ code: "BRIDGE_PROTOCOL_ERROR" }) as Error,
    );
  });

  it("refuses a line longer than the limit before it ends, and nesting deeper than the limit", () => {
    const decoder = new RespDecoder({ maxLineBytes: 16 });
    let error: unknown;
    try {
      decoder.push(Buffer.from(`+${"x".repeat(40)}`));
    } catch (caught) {
      error = caught;
    }
    expect(isBridgeError(error, "BRIDGE_PROTOCOL_ERROR")).toBe(true);
    expect(() => new RespDecoder({ maxDepth: 2 }).push(Buffer.from("*1\r\n*1\r\n*1\r\n:1\r\n"))).toThrow(/nested deeper/);
  });
});
