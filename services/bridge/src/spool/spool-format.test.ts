import * as zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32, encodeEntry, readSegment, SEGMENT_HEADER, tableCrc32, type SpoolEntry } from "./spool-format";

const message = (text: string, epochSeconds = 1_768_027_619, nanos = 5, offsetSeconds = 28_800) => ({
  raw: Buffer.from(text),
  receivedAt: { epochSeconds, nanos, offsetSeconds },
});

const segmentOf = (...entries: SpoolEntry[]): Buffer => Buffer.concat([SEGMENT_HEADER, ...entries.map(encodeEntry)]);

const arbitraryEntry: fc.Arbitrary<SpoolEntry> = fc.oneof(
  fc.record({
    kind: fc.constant("data" as const),
    seq: fc.nat({ max: 2 ** 40 }),
    messages: fc.array(
      fc.record({
        raw: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
        receivedAt: fc.record({
          epochSeconds: fc.integer({ min: -62_135_596_800, max: 253_402_300_799 }),
          nanos: fc.integer({ min: 0, max: 999_999_999 }),
          offsetSeconds: fc.integer({ min: -86_399, max: 86_399 }),
        }),
      }),
      { maxLength: 8 },
    ),
  }),
  fc.record({ kind: fc.constant("ack" as const), below: fc.nat({ max: 2 ** 40 }) }),
);

describe("spool format", () => {
  it("CRC-32 is the IEEE one (check value of '123456789'), in JavaScript and from node:zlib alike", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(tableCrc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(tableCrc32(bytes)).toBe(zlib.crc32(bytes));
      }),
    );
  });

  it("reads back exactly the entries it wrote, with their offsets", () => {
    fc.assert(
      fc.property(fc.array(arbitraryEntry, { maxLength: 10 }), (entries) => {
        const contents = readSegment(segmentOf(...entries));
        expect(contents.damaged).toEqual([]);
        expect(contents.entries.map((read) => read.entry)).toEqual(entries);
        let offset = SEGMENT_HEADER.length;
        for (const read of contents.entries) {
          expect(read.offset).toBe(offset);
          offset += read.length;
        }
      }),
    );
  });

  it("reports a torn tail (any cut inside the last entry) and keeps every entry before it", () => {
    const entries: SpoolEntry[] = [
      { kind: "data", seq: 0, messages: [message('{"a":1}'), message('{"b":2}')] },
      { kind: "ack", below: 1 },
      { kind: "data", seq: 1, messages: [message('{"c":3}')] },
    ];
    const whole = segmentOf(...entries);
    const lastStart = whole.length - encodeEntry(entries[2] as SpoolEntry).length;
    for (let cut = lastStart + 1; cut < whole.length; cut += 1) {
      const contents = readSegment(whole.subarray(0, cut));
      expect(contents.entries.map((read) => read.entry)).toEqual(entries.slice(0, 2));
      expect(contents.damaged).toEqual([{ offset: lastStart, length: cut - lastStart, reason: expect.any(String) as string }]);
    }
  });

  it("finds a flipped byte by the checksum, reports that stretch, and reads the intact entries after it", () => {
    const entries: SpoolEntry[] = [
      { kind: "data", seq: 0, messages: [message("first")] },
      { kind: "data", seq: 1, messages: [message("second, to be damaged")] },
      { kind: "data", seq: 2, messages: [message("third")] },
    ];
    const bytes = segmentOf(...entries);
    const secondStart = SEGMENT_HEADER.length + encodeEntry(entries[0] as SpoolEntry).length;
    const secondLength = encodeEntry(entries[1] as SpoolEntry).length;
    bytes.writeUInt8((bytes.readUInt8(secondStart + secondLength - 3) ^ 0x40) & 0xff, secondStart + secondLength - 3);
    const contents = readSegment(bytes);
    expect(contents.entries.map((read) => read.entry)).toEqual([entries[0], entries[2]]);
    expect(contents.damaged).toEqual([{ offset: secondStart, length: secondLength, reason: "checksum mismatch" }]);
  });

  it("takes a file without the segment header as damaged as a whole", () => {
    expect(readSegment(Buffer.from("not a spool"))).toEqual({
      entries: [],
      damaged: [{ offset: 0, length: 11, reason: expect.stringContaining("header") as string }],
    });
    expect(readSegment(Buffer.alloc(0))).toEqual({ entries: [], damaged: [] });
  });
});
