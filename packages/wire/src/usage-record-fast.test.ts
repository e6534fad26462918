import type { UsageRecord } from "@usage-ledger/statistics";
import avsc from "avsc";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AvroReader, FALL_BACK } from "./avro-reader";
import { singleObjectHeader } from "./fingerprint";
import { schemaFiles } from "./schema-files";
import { SingleObjectCodec } from "./single-object-codec";
import { AvroBytes, EMPTY_RECORD, FULL_RECORD, result, schemaLayout, singleByteEdits, usageRecordArb } from "../test/support/fixtures";
import { createUsageRecordCodec, decodeUsageRecord, encodeUsageRecord, usageRecordSchema } from "./usage-record-codec";
import { FAST_USAGE_RECORD_FIELDS, FAST_USAGE_RECORD_FINGERPRINT, FastUsageRecordDecoder } from "./usage-record-fast";
import { MAX_WIRE_INTEGER, MIN_WIRE_INTEGER } from "./validation";

/** The reference: the same codec with avsc only. */
const avscCodec = createUsageRecordCodec({ fastPath: false });
const fastOnly = new FastUsageRecordDecoder(usageRecordSchema.fingerprint);
/** Writes avsc values of the schema without our validation (records the encoder would refuse). */
const raw = new SingleObjectCodec({ schema: schemaFiles["usage-record.avsc"] });

/** Both paths give the same record (key order included) or the same error code and message. */
function expectSameOutcome(bytes: Uint8Array): void {
  const fast = result(() => decodeUsageRecord(bytes));
  const reference = result(() => avscCodec.decode(bytes));
  expect(fast).toStrictEqual(reference);
  if ("ok" in fast && "ok" in reference) {
    expect(JSON.stringify(fast.ok)).toBe(JSON.stringify(reference.ok));
  }
}

const longArb = fc.oneof(
  fc.integer({ min: 0, max: 100_000 }),
  fc.integer({ min: -1000, max: -1 }),
  fc.constantFrom(0, MAX_WIRE_INTEGER, -MAX_WIRE_INTEGER, MIN_WIRE_INTEGER, MIN_WIRE_INTEGER - 1, 2 ** 31, -(2 ** 31) - 1),
  fc.integer({ min: -MAX_WIRE_INTEGER, max: MAX_WIRE_INTEGER }),
);
const intArb = fc.oneof(
  fc.integer({ min: -2, max: 1001 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(-(2 ** 31), 2 ** 31 - 1),
);
const stringArb = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom(
    "",
    "ascii",
    "日本語",
    "😀",
    "\ud800",
    "a\udc00b",
    "x".repeat(64),
    "x".repeat(65),
    "x".repeat(4096),
    "x".repeat(4097),
    "é".repeat(2049),
    "€".repeat(1366),
  ),
);
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null });
/** avsc values of the schema, valid or not by the wire's rules. */
const avroRecordArb = fc.record({
  timestamp: optional(
    fc.record({
      epoch_seconds: fc.oneof(longArb, fc.integer({ min: -62_167_219_200, max: 253_402_300_799 })),
      nanos: fc.oneof(intArb, fc.integer({ min: 0, max: 999_999_999 })),
      offset_seconds: fc.oneof(
        intArb,
        fc.integer({ min: -1439, max: 1439 }).map((m) => m * 60),
      ),
    }),
  ),
  latency_ms: longArb,
  ttft_ms: optional(longArb),
  api_key: stringArb,
  model: stringArb,
  alias: optional(stringArb),
  provider: stringArb,
  executor_type: optional(stringArb),
  endpoint: fc.oneof(stringArb, fc.constantFrom("p".repeat(8192), "p".repeat(8193))),
  auth_type: stringArb,
  auth_id: stringArb,
  source: stringArb,
  auth_index: stringArb,
  request_id: optional(stringArb),
  failed: fc.boolean(),
  status_code: intArb,
  tokens: fc.record({
    input: longArb,
    output: longArb,
    reasoning: longArb,
    cached: longArb,
    total: longArb,
    cache_read: optional(longArb),
    cache_creation: optional(longArb),
  }),
  generate: optional(fc.boolean()),
  reasoning_effort: optional(stringArb),
  service_tier: optional(stringArb),
  response_service_tier: optional(stringArb),
  node_id: optional(stringArb),
});

/** Valid records whose strings are all ASCII (the decoder's cheap checks then decide alone). */
const asciiRecordArb: fc.Arbitrary<UsageRecord> = fc
  .tuple(usageRecordArb, fc.string({ unit: "binary-ascii", maxLength: 10 }))
  .map(
    ([record, text]) =>
      JSON.parse(JSON.stringify(record, (_key, value: unknown) => (typeof value === "string" ? text : value))) as UsageRecord,
  )
  .map((record) => ({ ...record, timestamp: record.timestamp }));

type AvroValue = Record<string, unknown> & { tokens: Record<string, unknown>; timestamp: Record<string, unknown> | null };
const STRING_FIELDS = [
  "api_key",
  "model",
  "alias",
  "provider",
  "executor_type",
  "endpoint",
  "auth_type",
  "auth_id",
  "source",
  "auth_index",
  "request_id",
  "reasoning_effort",
  "service_tier",
  "response_service_tier",
  "node_id",
];
/** One field of an avsc value set to a value at or beyond a limit of the wire's rules. */
const MUTATIONS: [string, (value: AvroValue) => void][] = [
  ...[-1, 0, 999, 1000, 2 ** 31 - 1, -(2 ** 31)].map((v): [string, (value: AvroValue) => void] => [
    `status ${String(v)}`,
    (value) => (value.status_code = v),
  ]),
  ...["latency_ms", "ttft_ms"].flatMap((field) =>
    [-1, 0, MIN_WIRE_INTEGER, MIN_WIRE_INTEGER - 1, MAX_WIRE_INTEGER].map((v): [string, (value: AvroValue) => void] => [
      `${field} ${String(v)}`,
      (value) => (value[field] = v),
    ]),
  ),
  ...["input", "output", "reasoning", "cached", "total", "cache_read", "cache_creation"].flatMap((field) =>
    [-1, 0, MIN_WIRE_INTEGER - 1, MAX_WIRE_INTEGER].map((v): [string, (value: AvroValue) => void] => [
      `tokens.${field} ${String(v)}`,
      (value) => (value.tokens[field] = v),
    ]),
  ),
  ...(
    [
      ["epoch_seconds", [253_402_300_799, 253_402_300_800, -62_167_219_200, -62_167_219_201, MAX_WIRE_INTEGER, -MAX_WIRE_INTEGER]],
      ["nanos", [-1, 999_999_999, 1_000_000_000, 2 ** 31 - 1]],
      ["offset_seconds", [30, 86_340, 86_400, -86_400, -86_340]],
    ] as const
  ).flatMap(([field, values]) =>
    values.map((v): [string, (value: AvroValue) => void] => [
      `timestamp.${field} ${String(v)}`,
      (value) => {
        value.timestamp = { epoch_seconds: 0, nanos: 0, offset_seconds: 0, ...value.timestamp, [field]: v };
      },
    ]),
  ),
  ...STRING_FIELDS.flatMap((field) => {
    const limit = field === "endpoint" ? 8192 : 4096;
    return [
      "x".repeat(limit),
      "x".repeat(limit + 1),
      "é".repeat(limit / 2),
      "é".repeat(limit / 2 + 1),
      "€".repeat(limit / 3),
      "\ud800",
      "a\udc00",
      "日本",
      "x".repeat(65),
    ].map((v): [string, (value: AvroValue) => void] => [`${field} of ${String(v.length)} units`, (value) => (value[field] = v)]);
  }),
];

/** The bytes of a valid record with one change to its avsc value. */
function mutate(record: UsageRecord, mutation: (value: AvroValue) => void): Buffer {
  const value = raw.decode(encodeUsageRecord(record)) as AvroValue;
  mutation(value);
  return raw.encode(value);
}

describe("the fast usage record decoder", () => {
  it("is written for the current schema file (update it with the schema)", () => {
    expect(usageRecordSchema.fingerprintHex).toBe(FAST_USAGE_RECORD_FINGERPRINT);
    expect(FAST_USAGE_RECORD_FIELDS).toStrictEqual(schemaLayout(schemaFiles["usage-record.avsc"]));
  });

  it("decodes every valid record itself, equal to the avsc path field for field (fast-check)", () => {
    fc.assert(
      fc.property(usageRecordArb, (record) => {
        const bytes = encodeUsageRecord(record);
        const fast = fastOnly.decode(bytes);
        expect(fast).toBeDefined();
        const reference = avscCodec.decode(bytes);
        expect(fast).toStrictEqual(reference);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(reference));
        expect(decodeUsageRecord(bytes)).toStrictEqual(record);
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes the fixed records, a Uint8Array view and repeated strings alike", () => {
    const records: UsageRecord[] = [
      FULL_RECORD,
      EMPTY_RECORD,
      { ...FULL_RECORD, apiKey: "ключ-😀-🇩🇪", extra: { alias: "", nodeId: "ñ" } },
      { ...FULL_RECORD, endpoint: "e".repeat(8192), model: "m".repeat(4096), extra: { requestId: "r".repeat(4096) } },
      { ...EMPTY_RECORD, timestamp: { epochSeconds: -62_167_219_200, nanos: 999_999_999, offsetSeconds: 0 } },
      {
        ...EMPTY_RECORD,
        latencyMs: MAX_WIRE_INTEGER,
        tokens: { inputTokens: MAX_WIRE_INTEGER, outputTokens: 1, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
      },
    ];
    for (const record of records) {
      const bytes = encodeUsageRecord(record);
      for (const copy of [bytes, new Uint8Array(bytes), Buffer.concat([Buffer.alloc(3), bytes]).subarray(3)]) {
        expect(fastOnly.decode(copy)).toStrictEqual(record);
        expect(decodeUsageRecord(copy)).toStrictEqual(record);
      }
    }
    // Interned strings: the same bytes give the same string, record after record.
    const again = decodeUsageRecord(encodeUsageRecord(FULL_RECORD));
    expect(decodeUsageRecord(encodeUsageRecord(FULL_RECORD)).apiKey).toBe(again.apiKey);
  });

  it("gives the avsc path's value or error for avsc values breaking the wire's rules (fast-check)", () => {
    fc.assert(
      fc.property(avroRecordArb, (value) => {
        expectSameOutcome(raw.encode(value));
      }),
      { numRuns: 3000 },
    );
  });

  it("gives the avsc path's value or error for a valid ASCII record with one field at or beyond a limit", () => {
    for (const [, mutation] of MUTATIONS) {
      for (const record of [FULL_RECORD, EMPTY_RECORD]) {
        expectSameOutcome(mutate(record, mutation));
      }
    }
    fc.assert(
      fc.property(asciiRecordArb, fc.constantFrom(...MUTATIONS), (record, [, mutation]) => {
        expectSameOutcome(mutate(record, mutation));
      }),
      { numRuns: 3000 },
    );
  });

  it("gives the avsc path's value or error for invalid UTF-8 (decoded to U+FFFD, three bytes each) in any string", () => {
    for (const field of STRING_FIELDS) {
      for (const length of [1, 3, 64, 65, 1365, 1366, 2000, 2730, 2731, 4096, 4097]) {
        for (const byte of [0xff, 0x80, 0xed]) {
          const bytes = mutate(FULL_RECORD, (value) => (value[field] = "~".repeat(length)));
          const at = bytes.indexOf(Buffer.alloc(length, "~"));
          bytes.fill(byte, at, at + length);
          expectSameOutcome(bytes);
        }
      }
    }
  });

  it("gives the avsc path's error for every truncation and for trailing bytes", () => {
    const messages = [FULL_RECORD, EMPTY_RECORD, { ...FULL_RECORD, model: "模型-😀" }].map((record) => encodeUsageRecord(record));
    for (const message of messages) {
      for (let length = 0; length <= message.length; length++) {
        expectSameOutcome(message.subarray(0, length));
      }
      expectSameOutcome(Buffer.concat([message, Buffer.from([0])]));
      expectSameOutcome(Buffer.concat([message, message]));
    }
  });

  it("gives the avsc path's value or error for every one-byte edit of a record (header included)", () => {
    for (const record of [
      FULL_RECORD,
      EMPTY_RECORD,
      { ...EMPTY_RECORD, timestamp: FULL_RECORD.timestamp, extra: { generate: false, ttftMs: 3 } },
    ]) {
      for (const edited of singleByteEdits(encodeUsageRecord(record), 0)) {
        expectSameOutcome(edited);
      }
    }
  });

  it("gives the avsc path's value or error for random bodies and hand-written encodings", () => {
    const header = singleObjectHeader(usageRecordSchema.fingerprint);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (body) => {
        expectSameOutcome(Buffer.concat([header, body]));
      }),
      { numRuns: 5000 },
    );
    // An EMPTY_RECORD body with one field changed: timestamp absent, then 27 zero-ish fields.
    const body = (edit: (out: AvroBytes, field: number) => boolean): Buffer => {
      const out = new AvroBytes();
      const fields = 22 + 6; // top-level fields plus the token record's extra six
      for (let field = 0; field < fields; field++) {
        if (!edit(out, field)) out.raw(0);
      }
      return Buffer.concat([header, out.bytes()]);
    };
    expectSameOutcome(body(() => false));
    const edits: ((out: AvroBytes) => void)[] = [
      (out) => out.raw(0x80, 0x00), // an overlong zero
      (out) => out.raw(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), // eleven bytes
      (out) => out.long(2n ** 53n), // beyond avsc's bound
      (out) => out.long(-(2n ** 53n)),
      (out) => out.long(2n ** 62n),
      (out) => out.long(2n ** 31n), // beyond an int
      (out) => out.long(MAX_WIRE_INTEGER),
      (out) => out.long(-1), // a negative length, union index -1
      (out) => out.long(2), // union index 2, a string of two bytes
      (out) => out.long(1).raw(0x02), // union index 1 then a value
      (out) => out.raw(0x02), // true
      (out) => out.raw(0x05), // a boolean of 5 (true for avsc)
      (out) => out.string(Buffer.from([0xed, 0xa0, 0x80])), // an encoded lone surrogate
      (out) => out.string(Buffer.from([0xff, 0xfe, 0x41])), // invalid UTF-8
      (out) => out.string("x".repeat(100)),
      (out) => out.long(2).raw(0x01, 0x02), // timestamp present with odd fields
    ];
    for (let field = 0; field < 28; field++) {
      for (const edit of edits) {
        expectSameOutcome(
          body((out, at) => {
            if (at !== field) return false;
            edit(out);
            return true;
          }),
        );
      }
    }
  });

  it("leaves other writers' bytes, and bytes without the header, to the avsc path", () => {
    const v1 = createUsageRecordCodec({ schema: { ...(schemaFiles["usage-record.avsc"] as object), doc: "x", name: "Other" } });
    const other = v1.encode(FULL_RECORD);
    expect(fastOnly.decode(other)).toBeUndefined();
    expect(fastOnly.decode(Buffer.from([0xc3]))).toBeUndefined();
    expect(fastOnly.decode(Buffer.from("{}"))).toBeUndefined();
  });
});

describe("the Avro reader's varints", () => {
  const intType = avsc.Type.forSchema("int");
  it("read the value avsc reads (its int read has no range check) for any varint of up to 10 bytes", () => {
    const reader = new AvroReader(undefined);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0x80, max: 0xff }), { maxLength: 9 }), fc.integer({ min: 0, max: 0x7f }), (more, last) => {
        const bytes = Buffer.from([...more, last]);
        reader.reset(bytes, 0);
        expect(Object.is(reader.varint(), intType.decode(bytes, 0).value)).toBe(true);
        expect(reader.pos).toBe(bytes.length);
      }),
      { numRuns: 20_000 },
    );
  });

  it("leave longer or unterminated varints to avsc", () => {
    const reader = new AvroReader(undefined);
    for (const bytes of [Buffer.alloc(11, 0x80).fill(0, 10), Buffer.from([0x80]), Buffer.alloc(0)]) {
      reader.reset(bytes, 0);
      expect(() => reader.varint()).toThrow(FALL_BACK);
    }
  });
});
