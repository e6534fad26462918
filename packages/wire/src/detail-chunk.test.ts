import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeDetailChunk, detailChunkSchema, encodeDetailChunk, type DetailChunk, type DetailColumns } from "./detail-chunk";
import { schemaFingerprint, singleObjectHeader } from "./fingerprint";
import { schemaFiles } from "./schema-files";
import { SingleObjectCodec } from "./single-object-codec";
import { columnsOf, expectWireError, sampleChunk, timestampArb, type Row } from "../test/support/fixtures";
import { MAX_WIRE_INTEGER, MIN_WIRE_INTEGER } from "./validation";

const tokenArb = fc.oneof(
  fc.integer({ min: -1000, max: 1_000_000 }),
  fc.integer({ min: MIN_WIRE_INTEGER, max: MAX_WIRE_INTEGER }),
  fc.constantFrom(MAX_WIRE_INTEGER, MIN_WIRE_INTEGER, 0),
);

const chunkArb: fc.Arbitrary<DetailChunk> = fc
  .array(fc.string({ unit: "grapheme", maxLength: 12 }), { minLength: 1, maxLength: 8 })
  .chain((strings) => {
    const index = fc.integer({ min: 0, max: strings.length - 1 });
    const row: fc.Arbitrary<Row> = fc
      .record({
        api: index,
        model: index,
        source: index,
        authIndex: index,
        ts: timestampArb,
        failed: fc.constantFrom(0, 1),
        latencyMs: fc.integer({ min: 0, max: 600_000 }),
        inputTokens: tokenArb,
        outputTokens: tokenArb,
        reasoningTokens: tokenArb,
        cachedTokens: tokenArb,
        totalTokens: tokenArb,
      })
      // A zero total is normalised from the other counts by the store: keep that sum a safe integer.
      .filter((r) => {
        const sum = r.inputTokens + r.outputTokens + r.reasoningTokens;
        return r.totalTokens !== 0 || (Number.isSafeInteger(sum) && Number.isSafeInteger(sum + r.cachedTokens));
      })
      .map(({ ts, ...rest }) => ({ ...rest, ...ts }));
    return fc.record({
      sourceTopic: fc.constantFrom("usage.records", "usage.records.test"),
      partition: fc.integer({ min: 0, max: 2_147_483_647 }),
      generation: fc.integer({ min: 0, max: MAX_WIRE_INTEGER }),
      writerEpoch: fc.integer({ min: 0, max: 1000 }),
      chunkIndex: fc.integer({ min: 0, max: 100 }),
      detailOffset: fc.integer({ min: 0, max: 10_000_000 }),
      columns: fc.array(row, { maxLength: 40 }).map((rows) => columnsOf([...strings], rows)),
    });
  })
  .map((chunk) => ({ ...chunk }));

describe("detail chunks", () => {
  it("start with the single-object header of schemas/snapshot-chunk.avsc", () => {
    expect(detailChunkSchema.fingerprint).toBe(schemaFingerprint(schemaFiles["snapshot-chunk.avsc"]));
    expect(encodeDetailChunk(sampleChunk(3)).subarray(0, 10)).toEqual(singleObjectHeader(detailChunkSchema.fingerprint));
  });

  it("round-trip any chunk column for column (fast-check)", () => {
    fc.assert(
      fc.property(chunkArb, (chunk) => {
        expect(decodeDetailChunk(encodeDetailChunk(chunk))).toStrictEqual(chunk);
      }),
      { numRuns: 300 },
    );
  });

  it("round-trip an empty chunk and a large one", () => {
    const empty = sampleChunk(0);
    expect(decodeDetailChunk(encodeDetailChunk(empty))).toStrictEqual(empty);
    const large = sampleChunk(20_000);
    const bytes = encodeDetailChunk(large);
    expect(decodeDetailChunk(bytes)).toStrictEqual(large);
    // 20,000 details stay far below the broker's 1 MiB message limit.
    expect(bytes.length).toBeLessThan(1024 * 1024);
  });

  it("take typed-array views at any offset of their buffers", () => {
    const chunk = sampleChunk(5);
    const backing = new Uint8Array(16);
    backing.set(chunk.columns.failed, 11);
    const shifted = { ...chunk, columns: { ...chunk.columns, failed: backing.subarray(11) } };
    expect(decodeDetailChunk(encodeDetailChunk(shifted))).toStrictEqual(chunk);
  });

  it("write only the first `count` rows of longer columns (as the store's growable columns are)", () => {
    const chunk = sampleChunk(6);
    const longer: DetailChunk = { ...chunk, columns: { ...chunk.columns, count: 4 } };
    const decoded = decodeDetailChunk(encodeDetailChunk(longer));
    expect(decoded.columns.count).toBe(4);
    expect(decoded.columns.totalTokens).toStrictEqual(chunk.columns.totalTokens.slice(0, 4));
    expect(decoded.columns.failed).toStrictEqual(chunk.columns.failed.slice(0, 4));
    expect(decoded.columns.authIndex).toStrictEqual(chunk.columns.authIndex.slice(0, 4));
  });

  it("reject a decoded negative string index", () => {
    const raw = new SingleObjectCodec({ schema: schemaFiles["snapshot-chunk.avsc"] });
    const one = (value: number): number[] => [value];
    const value = {
      source_topic: "t",
      partition: 0,
      generation: 0,
      writer_epoch: 0,
      chunk_index: 0,
      detail_offset: 0,
      strings: ["a"],
      api: one(-1),
      model: one(0),
      source: one(0),
      auth_index: one(0),
      epoch_seconds: one(0),
      nanos: one(0),
      offset_seconds: one(0),
      failed: Buffer.from([0]),
      latency_ms: one(0),
      input_tokens: one(0),
      output_tokens: one(0),
      reasoning_tokens: one(0),
      cached_tokens: one(0),
      total_tokens: one(0),
    };
    expect(decodeDetailChunk(raw.encode({ ...value, api: one(0) })).columns.count).toBe(1);
    expectWireError(() => decodeDetailChunk(raw.encode(value)), "WIRE_INVALID_CHUNK");
  });

  const base = sampleChunk(4);
  const withColumns = (columns: Partial<DetailColumns>): DetailChunk => ({ ...base, columns: { ...base.columns, ...columns } });
  it.each([
    ["a column shorter than count", withColumns({ nanos: new Int32Array(3) })],
    ["a column of the wrong type", withColumns({ latencyMs: new Int32Array(4) as unknown as Float64Array })],
    ["an index beyond the string table", withColumns({ model: Uint32Array.from([0, 1, 2, 8]) })],
    ["a failed byte of 2", withColumns({ failed: Uint8Array.from([0, 1, 2, 0]) })],
    ["nanos of 1e9", withColumns({ nanos: Int32Array.from([0, 1_000_000_000, 0, 0]) })],
    ["an offset with seconds", withColumns({ offsetSeconds: Int32Array.from([0, 0, 30, 0]) })],
    ["a year beyond 9999", withColumns({ epochSeconds: Float64Array.from([0, 0, 0, 253_402_300_800]) })],
    ["a fractional token count", withColumns({ totalTokens: Float64Array.from([1, 2.5, 3, 4]) })],
    ["a token count beyond 2^53 - 2", withColumns({ inputTokens: Float64Array.from([1, 2, MAX_WIRE_INTEGER + 1, 4]) })],
    ["a token count below -2^52", withColumns({ cachedTokens: Float64Array.from([1, MIN_WIRE_INTEGER - 1, 3, 4]) })],
    ["a negative count", withColumns({ count: -1 })],
    ["strings that are not strings", withColumns({ strings: [1, 2] as unknown as string[] })],
    ["a negative partition", { ...base, partition: -1 }],
    ["a fractional generation", { ...base, generation: 1.5 }],
    ["a missing source topic", { ...base, sourceTopic: undefined as unknown as string }],
  ])("reject %s with WIRE_INVALID_CHUNK", (_name, chunk) => {
    expectWireError(() => encodeDetailChunk(chunk), "WIRE_INVALID_CHUNK");
  });
});
