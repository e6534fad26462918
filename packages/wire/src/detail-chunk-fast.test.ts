import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeDetailChunk,
  decodeDetailChunkWithAvsc,
  detailChunkSchema,
  encodeDetailChunk,
  encodeDetailChunkWithAvsc,
  type DetailChunk,
  type DetailColumns,
} from "./detail-chunk";
import { FAST_DETAIL_CHUNK_FIELDS, FAST_DETAIL_CHUNK_FINGERPRINT, FastDetailChunkDecoder } from "./detail-chunk-fast";
import { singleObjectHeader } from "./fingerprint";
import { schemaFiles } from "./schema-files";
import { SingleObjectCodec } from "./single-object-codec";
import { AvroBytes, columnsOf, result, sampleChunk, schemaLayout, singleByteEdits, timestampArb, type Row } from "../test/support/fixtures";
import { MAX_WIRE_INTEGER, MIN_WIRE_INTEGER } from "./validation";

const fastOnly = new FastDetailChunkDecoder(detailChunkSchema.fingerprint);
/** Writes avsc values of the chunk schema without our checks (chunks the encoder would refuse). */
const raw = new SingleObjectCodec({ schema: schemaFiles["snapshot-chunk.avsc"] });
const header = singleObjectHeader(detailChunkSchema.fingerprint);

/** Both paths give the same chunk or the same error code and message. */
function expectSameOutcome(bytes: Uint8Array): void {
  expect(result(() => decodeDetailChunk(bytes))).toStrictEqual(result(() => decodeDetailChunkWithAvsc(bytes)));
}

const tokenArb = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000 }),
  fc.integer({ min: MIN_WIRE_INTEGER, max: MAX_WIRE_INTEGER }),
  fc.constantFrom(
    MAX_WIRE_INTEGER,
    MIN_WIRE_INTEGER,
    0,
    -1,
    63,
    64,
    8191,
    8192,
    2 ** 20 - 1,
    2 ** 20,
    2 ** 27 - 1,
    2 ** 27,
    2 ** 34 - 1,
    2 ** 34,
    -(2 ** 34) - 1,
  ),
);

/** Valid chunks with values at every varint width. */
const chunkArb: fc.Arbitrary<DetailChunk> = fc
  .array(fc.oneof(fc.string({ unit: "grapheme", maxLength: 12 }), fc.constantFrom("", "x".repeat(65), "日本語", "\ud800")), {
    minLength: 1,
    maxLength: 70,
  })
  .chain((strings) => {
    const index = fc.oneof(fc.integer({ min: 0, max: strings.length - 1 }), fc.constant(strings.length - 1));
    const row: fc.Arbitrary<Row> = fc
      .record({
        api: index,
        model: index,
        source: index,
        authIndex: index,
        ts: timestampArb,
        failed: fc.constantFrom(0, 1),
        latencyMs: fc.oneof(fc.integer({ min: 0, max: 600_000 }), fc.constantFrom(0, MAX_WIRE_INTEGER)),
        inputTokens: tokenArb,
        outputTokens: tokenArb,
        reasoningTokens: tokenArb,
        cachedTokens: tokenArb,
        totalTokens: tokenArb,
      })
      .filter((r) => {
        const sum = r.inputTokens + r.outputTokens + r.reasoningTokens;
        return r.totalTokens !== 0 || (Number.isSafeInteger(sum) && Number.isSafeInteger(sum + r.cachedTokens));
      })
      .map(({ ts, ...rest }) => ({ ...rest, ...ts }));
    return fc.record({
      sourceTopic: fc.constantFrom("usage.records", "", "ü".repeat(40)),
      partition: fc.oneof(fc.integer({ min: 0, max: 2_147_483_647 }), fc.constantFrom(0, 2_147_483_647)),
      generation: fc.oneof(fc.integer({ min: 0, max: MAX_WIRE_INTEGER }), fc.constantFrom(0, MAX_WIRE_INTEGER)),
      writerEpoch: fc.integer({ min: 0, max: MAX_WIRE_INTEGER }),
      chunkIndex: fc.integer({ min: 0, max: 2_147_483_647 }),
      detailOffset: fc.integer({ min: 0, max: MAX_WIRE_INTEGER }),
      columns: fc.array(row, { maxLength: 60 }).map((rows) => columnsOf([...strings], rows)),
    });
  })
  .map((chunk) => ({ ...chunk }));

const avroLongArb = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.integer({ min: -MAX_WIRE_INTEGER, max: MAX_WIRE_INTEGER }),
  fc.constantFrom(MIN_WIRE_INTEGER - 1, MIN_WIRE_INTEGER, -MAX_WIRE_INTEGER),
);
const avroIntArb = fc.oneof(
  fc.integer({ min: -3, max: 10 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
);
/** avsc values of the chunk schema, valid or not by the chunk's rules (columns of any lengths, any values). */
const avroChunkArb = fc.integer({ min: 0, max: 6 }).chain((n) => {
  const column = <T>(item: fc.Arbitrary<T>): fc.Arbitrary<T[]> =>
    fc.oneof(
      { weight: 6, arbitrary: fc.array(item, { minLength: n, maxLength: n }) },
      { weight: 1, arbitrary: fc.array(item, { maxLength: 7 }) },
    );
  return fc.record({
    source_topic: fc.string({ maxLength: 6 }),
    partition: avroIntArb,
    generation: avroLongArb,
    writer_epoch: avroLongArb,
    chunk_index: avroIntArb,
    detail_offset: avroLongArb,
    strings: fc.array(fc.string({ maxLength: 4 }), { maxLength: 4 }),
    api: column(avroIntArb),
    model: column(fc.integer({ min: -1, max: 4 })),
    source: column(fc.integer({ min: 0, max: 3 })),
    auth_index: column(fc.integer({ min: 0, max: 3 })),
    epoch_seconds: column(fc.oneof(avroLongArb, fc.integer({ min: -62_167_219_200, max: 253_402_300_799 }))),
    nanos: column(fc.oneof(avroIntArb, fc.integer({ min: 0, max: 999_999_999 }))),
    offset_seconds: column(
      fc.oneof(
        avroIntArb,
        fc.integer({ min: -1439, max: 1439 }).map((m) => m * 60),
      ),
    ),
    failed: column(fc.integer({ min: 0, max: 2 })).map((bytes) => Buffer.from(bytes)),
    latency_ms: column(avroLongArb),
    input_tokens: column(avroLongArb),
    output_tokens: column(avroLongArb),
    reasoning_tokens: column(avroLongArb),
    cached_tokens: column(avroLongArb),
    total_tokens: column(avroLongArb),
  });
});

/** A chunk body written by hand: `arrays` of longs/ints (bigints for any 64-bit value), each split into the given blocks. */
function handWritten(options: {
  count: number;
  value?: (column: number, row: number) => bigint;
  split?: number;
  failed?: readonly number[];
}): Buffer {
  const { count, split = count } = options;
  const value = options.value ?? ((): bigint => 0n);
  const out = new AvroBytes().string("t").long(0).long(1).long(1).long(0).long(0);
  out.array([["a"]], (o, s) => o.string(s));
  const blocks = <T>(items: T[]): T[][] => [items.slice(0, split), items.slice(split)];
  const rows = Array.from({ length: count }, (_, row) => row);
  for (let column = 0; column < 7; column++) out.array(blocks(rows), (o, row) => o.long(value(column, row)));
  out.string(Uint8Array.from(options.failed ?? rows.map(() => 0)));
  for (let column = 7; column < 13; column++) out.array(blocks(rows), (o, row) => o.long(value(column, row)));
  return Buffer.concat([header, out.bytes()]);
}

describe("the fast detail chunk decoder", () => {
  it("is written for the current schema file (update it with the schema)", () => {
    expect(detailChunkSchema.fingerprintHex).toBe(FAST_DETAIL_CHUNK_FINGERPRINT);
    expect(FAST_DETAIL_CHUNK_FIELDS).toStrictEqual(schemaLayout(schemaFiles["snapshot-chunk.avsc"]));
  });

  it("decodes every valid chunk itself, equal to the avsc path column for column (fast-check)", () => {
    fc.assert(
      fc.property(chunkArb, (chunk) => {
        const bytes = encodeDetailChunk(chunk);
        expect(fastOnly.decode(bytes)).toStrictEqual(decodeDetailChunkWithAvsc(bytes));
        expect(decodeDetailChunk(bytes)).toStrictEqual(decodeDetailChunkWithAvsc(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("decodes a large chunk and a Uint8Array view alike", () => {
    const bytes = encodeDetailChunk(sampleChunk(20_000));
    expect(fastOnly.decode(bytes)).toStrictEqual(decodeDetailChunkWithAvsc(bytes));
    const view = Buffer.concat([Buffer.alloc(5), bytes]).subarray(5);
    expect(decodeDetailChunk(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))).toStrictEqual(sampleChunk(20_000));
  });

  it("gives the avsc path's chunk or error for avsc values breaking the chunk's rules (fast-check)", () => {
    fc.assert(
      fc.property(avroChunkArb, (value) => {
        expectSameOutcome(raw.encode(value));
      }),
      { numRuns: 3000 },
    );
  });

  it("gives the avsc path's error for every truncation, trailing bytes and every one-byte edit", () => {
    const small = handWritten({
      count: 2,
      value: (column, row) => [0n, 0n, 0n, 0n, 1_768_027_619n, 123_456_789n, 3600n][column] ?? BigInt(row * 300 + column),
    });
    expect(fastOnly.decode(small)).toBeDefined();
    for (const message of [small, encodeDetailChunk(sampleChunk(3)), encodeDetailChunk(sampleChunk(0))]) {
      for (let length = 0; length <= message.length; length++) {
        expectSameOutcome(message.subarray(0, length));
      }
      expectSameOutcome(Buffer.concat([message, Buffer.from([0])]));
    }
    for (const edited of singleByteEdits(small, 0)) {
      expectSameOutcome(edited);
    }
  });

  it("gives the avsc path's chunk or error for random bodies", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (body) => {
        expectSameOutcome(Buffer.concat([header, body]));
      }),
      { numRuns: 5000 },
    );
  });

  it("leaves several array blocks, longs beyond 2^53, ints beyond 32 bits and overlong varints to avsc, with its outcome", () => {
    const valid = handWritten({ count: 3 });
    expect(fastOnly.decode(valid)).toBeDefined();
    expectSameOutcome(valid);
    const cases: Buffer[] = [
      handWritten({ count: 3, split: 1 }), // two blocks: avsc reads them
      handWritten({ count: 0, failed: [] }),
      handWritten({ count: 2, failed: [0] }),
      handWritten({ count: 2, failed: [0, 0, 1] }),
      handWritten({ count: 2, failed: [0, 2] }),
    ];
    const widths = [
      0n,
      1n,
      63n,
      64n,
      2n ** 27n,
      2n ** 30n,
      2n ** 31n,
      2n ** 34n,
      2n ** 35n,
      2n ** 52n,
      2n ** 53n - 2n,
      2n ** 53n - 1n,
      2n ** 53n,
      2n ** 62n,
      2n ** 63n - 1n,
    ];
    for (let column = 0; column < 13; column++) {
      for (const magnitude of widths) {
        for (const sign of [1n, -1n]) {
          cases.push(handWritten({ count: 3, value: (c, row) => (c === column && row === 1 ? sign * magnitude : 0n) }));
        }
      }
    }
    for (const bytes of cases) {
      expectSameOutcome(bytes);
    }
    // A value beyond 2^53 read as a long: WIRE_UNSAFE_INTEGER, as before.
    const unsafe = handWritten({ count: 1, value: (c) => (c === 8 ? 2n ** 60n : 0n) });
    expect(result(() => decodeDetailChunk(unsafe))).toMatchObject({ code: "WIRE_UNSAFE_INTEGER" });
    // Overlong varints (a zero in 11 bytes) and a negative block count with its byte size.
    const body = valid.subarray(10);
    const overlong = Buffer.concat([header, body.subarray(0, 2), Buffer.alloc(11, 0x80).fill(0, 10), body.subarray(3)]);
    expectSameOutcome(overlong);
    const padded = Buffer.concat([header, body.subarray(0, 2), Buffer.from([0x80, 0x00]), body.subarray(3)]);
    expectSameOutcome(padded);
    expect(body.subarray(7, 11)).toStrictEqual(Buffer.from([0x02, 0x02, 0x61, 0x00])); // strings: one block of "a"
    const sized = Buffer.concat([header, body.subarray(0, 7), Buffer.from([0x01, 0x04, 0x02, 0x61, 0x00]), body.subarray(11)]);
    expect(result(() => decodeDetailChunkWithAvsc(sized))).toHaveProperty("ok");
    expectSameOutcome(sized);
  });
});

describe("the fast detail chunk encoder", () => {
  it("writes avsc's bytes for any chunk (fast-check)", () => {
    fc.assert(
      fc.property(chunkArb, (chunk) => {
        expect(encodeDetailChunk(chunk)).toStrictEqual(encodeDetailChunkWithAvsc(chunk));
      }),
      { numRuns: 500 },
    );
  });

  it("writes avsc's bytes for lone surrogates, long and multi-byte strings, longer columns and views", () => {
    const base = sampleChunk(5);
    const texts = [
      "\ud800",
      "a\udc00b",
      "\udbff\udfff",
      "\ud83d",
      "x".repeat(64),
      "x".repeat(65),
      "\ud800".repeat(30),
      "é".repeat(40),
      "\ud800" + "y".repeat(70),
      "\ud800" + "y".repeat(61),
      "\ud800" + "y".repeat(62),
      "😀".repeat(20),
      "",
    ];
    const strings = [...base.columns.strings, ...texts];
    const chunks: DetailChunk[] = [
      { ...base, sourceTopic: "\ud800-topic", columns: { ...base.columns, strings } },
      { ...base, sourceTopic: "t".repeat(100) + "\udc00", columns: { ...base.columns, count: 3 } },
      sampleChunk(0),
      sampleChunk(20_000),
      { ...base, columns: { ...base.columns, failed: Buffer.concat([Buffer.alloc(3), Buffer.from(base.columns.failed)]).subarray(3) } },
    ];
    for (const chunk of chunks) {
      expect(encodeDetailChunk(chunk)).toStrictEqual(encodeDetailChunkWithAvsc(chunk));
    }
    // Values at every varint width, both signs, in every column avsc writes as a long.
    const widths = [0, 1, 63, 64, 8191, 8192, 2 ** 20, 2 ** 27, 2 ** 30 - 1, 2 ** 30, 2 ** 31, 2 ** 34, 2 ** 48, 2 ** 52, MAX_WIRE_INTEGER];
    for (const name of ["latencyMs", "inputTokens", "outputTokens", "reasoningTokens", "cachedTokens", "totalTokens"] as const) {
      for (const magnitude of widths) {
        for (const value of [magnitude, -magnitude, name === "latencyMs" ? magnitude : MIN_WIRE_INTEGER]) {
          const column = Float64Array.from(base.columns[name]);
          column[2] = value;
          const chunk = {
            ...base,
            columns: {
              ...base.columns,
              [name]: column,
              totalTokens: name === "totalTokens" ? column : Float64Array.from(base.columns.totalTokens, (t) => t || 1),
            } as DetailColumns,
          };
          expect(result(() => encodeDetailChunk(chunk))).toStrictEqual(result(() => encodeDetailChunkWithAvsc(chunk)));
        }
      }
    }
  });

  it("refuses what the avsc path refuses, with the same error", () => {
    const base = sampleChunk(4);
    const bad: DetailChunk[] = [
      { ...base, partition: -1 },
      { ...base, generation: 1.5 },
      { ...base, columns: { ...base.columns, nanos: new Int32Array(3) } },
      { ...base, columns: { ...base.columns, inputTokens: Float64Array.from([1, 2, MAX_WIRE_INTEGER + 1, 4]) } },
      { ...base, columns: { ...base.columns, strings: [1, 2] as unknown as string[] } },
    ];
    for (const chunk of bad) {
      const outcome = result(() => encodeDetailChunk(chunk));
      expect(outcome).toStrictEqual(result(() => encodeDetailChunkWithAvsc(chunk)));
      expect(outcome).toMatchObject({ code: "WIRE_INVALID_CHUNK" });
    }
  });
});
