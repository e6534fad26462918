import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeDetailChunk, detailChunkSchema, encodeDetailChunk } from "./detail-chunk";
import { singleObjectHeader } from "./fingerprint";
import {
  chunkChecksum,
  decodeSnapshotManifest,
  encodeSnapshotManifest,
  snapshotManifestSchema,
  type SnapshotManifest,
} from "./snapshot-manifest";
import { EMPTY_RECORD, FULL_RECORD, expectWireError, outcome, sampleChunk } from "../test/support/fixtures";
import { decodeUsageRecord, encodeUsageRecord, usageRecordSchema } from "./usage-record-codec";

/** Every decoder of the package, with its schema's header and some valid messages. */
const chunk = encodeDetailChunk(sampleChunk(50));
const manifest: SnapshotManifest = {
  sourceTopic: "usage.records",
  partition: 0,
  generation: 4,
  writerEpoch: 1,
  resumeOffset: "1000",
  kind: "incremental",
  baseGeneration: 3,
  chunks: [{ key: "p0/g4/c0", detailCount: 50, bytes: chunk.length, checksum: chunkChecksum(chunk) }],
  detailCount: 120,
  totals: { totalRequests: 120, successCount: 100, failureCount: 20, totalTokens: 99_999 },
  writtenAt: { epochSeconds: 1_768_027_619, nanos: 1, offsetSeconds: 3600 },
  schemaFingerprint: detailChunkSchema.fingerprintHex,
};

const DECODERS = [
  {
    name: "usage record",
    decode: decodeUsageRecord,
    header: singleObjectHeader(usageRecordSchema.fingerprint),
    messages: [
      encodeUsageRecord(FULL_RECORD),
      encodeUsageRecord(EMPTY_RECORD),
      encodeUsageRecord({ ...FULL_RECORD, model: "模型-😀", source: "ünïcödé", extra: { alias: "", nodeId: "ñ" } }),
    ],
  },
  {
    name: "detail chunk",
    decode: decodeDetailChunk,
    header: singleObjectHeader(detailChunkSchema.fingerprint),
    messages: [chunk, encodeDetailChunk(sampleChunk(0))],
  },
  {
    name: "snapshot manifest",
    decode: decodeSnapshotManifest,
    header: singleObjectHeader(snapshotManifestSchema.fingerprint),
    messages: [
      encodeSnapshotManifest(manifest),
      encodeSnapshotManifest({ ...manifest, kind: "full", baseGeneration: undefined, chunks: [], detailCount: 0 }),
    ],
  },
] as const;

describe.each(DECODERS)("fuzzing the $name decoder: only coded errors, never a hang", ({ decode, header, messages }) => {
  it("decodes its valid messages", () => {
    for (const message of messages) {
      expect(outcome(() => decode(message))).toBe("ok");
    }
  });

  it("10,000 random byte strings raise only coded errors", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(outcome(() => decode(bytes))).not.toBe("ok");
      }),
      { numRuns: 10_000 },
    );
  });

  it("10,000 random bodies behind a valid header raise only coded errors", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (body) => {
        outcome(() => decode(Buffer.concat([header, body])));
      }),
      { numRuns: 10_000 },
    );
  });

  it("every truncation of its valid messages raises WIRE_TRUNCATED", () => {
    for (const message of messages) {
      for (let length = 0; length < message.length; length++) {
        expect(
          outcome(() => decode(message.subarray(0, length))),
          `first ${String(length)} of ${String(message.length)} bytes`,
        ).toBe("WIRE_TRUNCATED");
      }
    }
  });

  it("trailing bytes raise WIRE_TRAILING_BYTES", () => {
    for (const message of messages) {
      expectWireError(() => decode(Buffer.concat([message, Buffer.from([0])])), "WIRE_TRAILING_BYTES");
    }
  });

  it("valid messages with corrupted bytes raise only coded errors (or decode to something valid)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...messages),
        fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        (message, edits) => {
          const corrupted = Buffer.from(message);
          for (const { at, byte } of edits) {
            corrupted[10 + (at % Math.max(1, corrupted.length - 10))] = byte;
          }
          outcome(() => decode(corrupted));
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it("a wrong marker raises WIRE_BAD_MARKER and an unknown fingerprint WIRE_UNKNOWN_FINGERPRINT", () => {
    const message = messages[0];
    expectWireError(() => decode(Buffer.concat([Buffer.from([0xc3, 0x02]), message.subarray(2)])), "WIRE_BAD_MARKER");
    expectWireError(() => decode(Buffer.from('{"json":true}')), "WIRE_BAD_MARKER");
    const unknown = Buffer.from(message);
    unknown[5] = (unknown[5] ?? 0) ^ 0xff;
    expectWireError(() => decode(unknown), "WIRE_UNKNOWN_FINGERPRINT");
  });
});

describe("hostile block counts", () => {
  const header = singleObjectHeader(detailChunkSchema.fingerprint);
  // source_topic "t", partition 0, generation 0, writer_epoch 0, chunk_index 0, detail_offset 0.
  const fields = Buffer.from([0x02, 0x74, 0x00, 0x00, 0x00, 0x00, 0x00]);

  it("an array count of 2^31 - 1 items in a few bytes is refused at once", () => {
    // strings: a block of 2^31 - 1 items (zigzag varint), then nothing.
    const count = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f]);
    expectWireError(() => decodeDetailChunk(Buffer.concat([header, fields, count])), "WIRE_TRUNCATED");
  });

  it("a negative block count with a huge item count is refused at once", () => {
    // -(2^40) items, block size 1.
    const count = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x02]);
    expectWireError(() => decodeDetailChunk(Buffer.concat([header, fields, count])), "WIRE_TRUNCATED");
  });

  it("a negative string length and an overlong varint are malformed", () => {
    expectWireError(() => decodeDetailChunk(Buffer.concat([header, Buffer.from([0x01]), fields.subarray(2)])), "WIRE_MALFORMED_BODY");
    const overlong = Buffer.alloc(11, 0x80);
    expectWireError(
      () => decodeDetailChunk(Buffer.concat([header, Buffer.from([0x02, 0x74]), overlong, Buffer.from([0x00])])),
      "WIRE_MALFORMED_BODY",
    );
  });

  it("an enum index out of range is malformed", () => {
    const valid = encodeSnapshotManifest(manifest);
    // The kind enum follows source_topic, partition, generation, writer_epoch and resume_offset.
    const topic = Buffer.from("usage.records");
    const at = 10 + 1 + topic.length + 1 + 1 + 1 + 1 + "1000".length;
    expect(valid[at]).toBe(0x02); // INCREMENTAL = index 1, zigzag 2
    const forged = Buffer.from(valid);
    forged[at] = 0x04;
    expectWireError(() => decodeSnapshotManifest(forged), "WIRE_MALFORMED_BODY");
  });
});
