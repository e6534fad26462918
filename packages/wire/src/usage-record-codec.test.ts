import { readFileSync } from "node:fs";
import type { UsageRecord } from "@usage-ledger/statistics";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { schemaFingerprint, singleObjectHeader } from "./fingerprint";
import { SingleObjectCodec } from "./single-object-codec";
import { schemaFiles, usageRecordSchemaJson } from "./schema-files";
import { EMPTY_RECORD, FULL_RECORD, expectWireError, usageRecordArb } from "../test/support/fixtures";
import { createUsageRecordCodec, decodeUsageRecord, encodeUsageRecord, usageRecordRegistry, usageRecordSchema } from "./usage-record-codec";
import { MAX_WIRE_INTEGER } from "./validation";

const v1Schema: unknown = JSON.parse(readFileSync(new URL("../../../schemas/usage-record-v1.avsc", import.meta.url), "utf8"));

/** The fields a version-1 schema carries of a record. */
function v1View(record: UsageRecord): UsageRecord {
  const { extra, ...rest } = record;
  return extra?.requestId === undefined ? rest : { ...rest, extra: { requestId: extra.requestId } };
}

describe("usage record single-object encoding", () => {
  it("starts with C3 01 and the fingerprint of schemas/usage-record.avsc", () => {
    const bytes = encodeUsageRecord(FULL_RECORD);
    expect(usageRecordSchema.fingerprint).toBe(schemaFingerprint(schemaFiles["usage-record.avsc"]));
    expect(bytes.subarray(0, 10)).toEqual(singleObjectHeader(usageRecordSchema.fingerprint));
  });

  it("round-trips a fully populated record and the empty record exactly", () => {
    expect(decodeUsageRecord(encodeUsageRecord(FULL_RECORD))).toStrictEqual(FULL_RECORD);
    expect(decodeUsageRecord(encodeUsageRecord(EMPTY_RECORD))).toStrictEqual(EMPTY_RECORD);
  });

  it("round-trips every field of any valid record (fast-check)", () => {
    fc.assert(
      fc.property(usageRecordArb, (record) => {
        expect(decodeUsageRecord(encodeUsageRecord(record))).toStrictEqual(record);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps nanosecond timestamps at the extremes and non-UTC offsets", () => {
    const timestamps = [
      { epochSeconds: -62_167_219_200, nanos: 0, offsetSeconds: 0 }, // 0000-01-01T00:00:00Z
      { epochSeconds: 253_402_300_799, nanos: 999_999_999, offsetSeconds: 0 }, // 9999-12-31T23:59:59.999999999Z
      { epochSeconds: -62_167_219_200 - 86_340, nanos: 1, offsetSeconds: 86_340 }, // 0000-01-01T00:00:00.000000001+23:59
      { epochSeconds: 253_402_300_799 + 86_340, nanos: 999_999_999, offsetSeconds: -86_340 }, // 9999-12-31T23:59:59.999999999-23:59
      { epochSeconds: 1_768_060_799, nanos: 100, offsetSeconds: -18_000 }, // 2026-01-10T10:59:59.0000001-05:00
      { epochSeconds: 1_768_000_000, nanos: 500_000_000, offsetSeconds: 20_700 }, // +05:45
    ];
    for (const timestamp of timestamps) {
      const record = { ...FULL_RECORD, timestamp };
      expect(decodeUsageRecord(encodeUsageRecord(record)).timestamp).toStrictEqual(timestamp);
    }
  });

  it("tells empty optional strings from missing ones", () => {
    const record: UsageRecord = {
      ...EMPTY_RECORD,
      extra: { alias: "", requestId: "", nodeId: "", generate: false, ttftMs: 0, cacheReadTokens: 0 },
    };
    expect(decodeUsageRecord(encodeUsageRecord(record))).toStrictEqual(record);
    // An empty extra carries nothing.
    expect(decodeUsageRecord(encodeUsageRecord({ ...EMPTY_RECORD, extra: {} }))).toStrictEqual(EMPTY_RECORD);
  });

  it("accepts a Uint8Array that is not a Buffer, at any offset of its ArrayBuffer", () => {
    const bytes = encodeUsageRecord(FULL_RECORD);
    const padded = new Uint8Array(bytes.length + 7);
    padded.set(bytes, 7);
    expect(decodeUsageRecord(padded.subarray(7))).toStrictEqual(FULL_RECORD);
  });
});

describe("validation at encode", () => {
  const cases: [string, UsageRecord, string][] = [
    ["negative input tokens", { ...FULL_RECORD, tokens: { ...FULL_RECORD.tokens, inputTokens: -1 } }, "WIRE_NEGATIVE_TOKENS"],
    ["negative total tokens", { ...FULL_RECORD, tokens: { ...FULL_RECORD.tokens, totalTokens: -5 } }, "WIRE_NEGATIVE_TOKENS"],
    ["negative cache-read tokens", { ...FULL_RECORD, extra: { cacheReadTokens: -1 } }, "WIRE_NEGATIVE_TOKENS"],
    ["fractional tokens", { ...FULL_RECORD, tokens: { ...FULL_RECORD.tokens, outputTokens: 1.5 } }, "WIRE_UNSAFE_INTEGER"],
    [
      "tokens beyond 2^53 - 2",
      { ...FULL_RECORD, tokens: { ...FULL_RECORD.tokens, cachedTokens: MAX_WIRE_INTEGER + 1 } },
      "WIRE_UNSAFE_INTEGER",
    ],
    ["NaN tokens", { ...FULL_RECORD, tokens: { ...FULL_RECORD.tokens, reasoningTokens: Number.NaN } }, "WIRE_UNSAFE_INTEGER"],
    ["infinite latency", { ...FULL_RECORD, latencyMs: Number.POSITIVE_INFINITY }, "WIRE_UNSAFE_INTEGER"],
    ["negative latency", { ...FULL_RECORD, latencyMs: -1 }, "WIRE_INVALID_FIELD"],
    ["negative ttft", { ...FULL_RECORD, extra: { ttftMs: -3 } }, "WIRE_INVALID_FIELD"],
    ["status 1000", { ...FULL_RECORD, statusCode: 1000 }, "WIRE_INVALID_FIELD"],
    ["status -1", { ...FULL_RECORD, statusCode: -1 }, "WIRE_INVALID_FIELD"],
    [
      "nanos 1e9",
      { ...FULL_RECORD, timestamp: { epochSeconds: 0, nanos: 1_000_000_000, offsetSeconds: 0 } },
      "WIRE_TIMESTAMP_OUT_OF_RANGE",
    ],
    ["negative nanos", { ...FULL_RECORD, timestamp: { epochSeconds: 0, nanos: -1, offsetSeconds: 0 } }, "WIRE_TIMESTAMP_OUT_OF_RANGE"],
    ["offset 24h", { ...FULL_RECORD, timestamp: { epochSeconds: 0, nanos: 0, offsetSeconds: 86_400 } }, "WIRE_TIMESTAMP_OUT_OF_RANGE"],
    ["offset -24h", { ...FULL_RECORD, timestamp: { epochSeconds: 0, nanos: 0, offsetSeconds: -86_400 } }, "WIRE_TIMESTAMP_OUT_OF_RANGE"],
    ["offset with seconds", { ...FULL_RECORD, timestamp: { epochSeconds: 0, nanos: 0, offsetSeconds: 30 } }, "WIRE_TIMESTAMP_OUT_OF_RANGE"],
    [
      "year 10000",
      { ...FULL_RECORD, timestamp: { epochSeconds: 253_402_300_800, nanos: 0, offsetSeconds: 0 } },
      "WIRE_TIMESTAMP_OUT_OF_RANGE",
    ],
    [
      "year -1",
      { ...FULL_RECORD, timestamp: { epochSeconds: -62_167_219_201, nanos: 0, offsetSeconds: 0 } },
      "WIRE_TIMESTAMP_OUT_OF_RANGE",
    ],
    [
      "local year -1",
      { ...FULL_RECORD, timestamp: { epochSeconds: -62_167_219_200, nanos: 0, offsetSeconds: -60 } },
      "WIRE_TIMESTAMP_OUT_OF_RANGE",
    ],
    ["api key of 4097 bytes", { ...FULL_RECORD, apiKey: "k".repeat(4097) }, "WIRE_STRING_TOO_LONG"],
    ["model of 1366 three-byte characters", { ...FULL_RECORD, model: "語".repeat(1366) }, "WIRE_STRING_TOO_LONG"],
    ["endpoint of 8193 bytes", { ...FULL_RECORD, endpoint: "/".repeat(8193) }, "WIRE_STRING_TOO_LONG"],
    ["node id of 4097 bytes", { ...FULL_RECORD, extra: { nodeId: "n".repeat(4097) } }, "WIRE_STRING_TOO_LONG"],
    ["a lone surrogate", { ...FULL_RECORD, source: "a\ud800b" }, "WIRE_INVALID_FIELD"],
    ["a number as api key", { ...FULL_RECORD, apiKey: 5 as unknown as string }, "WIRE_INVALID_FIELD"],
    ["a string as failed", { ...FULL_RECORD, failed: "true" as unknown as boolean }, "WIRE_INVALID_FIELD"],
    ["no tokens", { ...FULL_RECORD, tokens: undefined as unknown as UsageRecord["tokens"] }, "WIRE_INVALID_FIELD"],
    [
      "a string epoch",
      { ...FULL_RECORD, timestamp: { epochSeconds: "1" as unknown as number, nanos: 0, offsetSeconds: 0 } },
      "WIRE_INVALID_FIELD",
    ],
  ];

  it.each(cases)("rejects %s", (_name, record, code) => {
    expectWireError(() => encodeUsageRecord(record), code as Parameters<typeof expectWireError>[1]);
  });

  it("accepts strings exactly at their limits", () => {
    const record: UsageRecord = { ...FULL_RECORD, apiKey: "k".repeat(4096), model: "語".repeat(1365), endpoint: "/".repeat(8192) };
    expect(decodeUsageRecord(encodeUsageRecord(record))).toStrictEqual(record);
  });

  it("rejects what is not a record at all", () => {
    expectWireError(() => encodeUsageRecord(null as unknown as UsageRecord), "WIRE_INVALID_FIELD");
  });
});

describe("validation at decode", () => {
  // A codec of the same schema without the record rules: writes what a careless producer could.
  const raw = new SingleObjectCodec({ schema: usageRecordSchemaJson });
  const valid = {
    timestamp: { epoch_seconds: 1_768_027_619, nanos: 5, offset_seconds: 3600 },
    latency_ms: 10,
    ttft_ms: null,
    api_key: "k",
    model: "m",
    alias: null,
    provider: "p",
    executor_type: null,
    endpoint: "",
    auth_type: "",
    auth_id: "",
    source: "",
    auth_index: "",
    request_id: null,
    failed: false,
    status_code: 200,
    tokens: { input: 1, output: 2, reasoning: 0, cached: 0, total: 3, cache_read: null, cache_creation: null },
    generate: null,
    reasoning_effort: null,
    service_tier: null,
    response_service_tier: null,
    node_id: null,
  };

  it("decodes the valid raw value", () => {
    expect(decodeUsageRecord(raw.encode(valid)).tokens.totalTokens).toBe(3);
  });

  it.each([
    ["negative tokens", { ...valid, tokens: { ...valid.tokens, input: -7 } }, "WIRE_NEGATIVE_TOKENS"],
    ["negative cache creation", { ...valid, tokens: { ...valid.tokens, cache_creation: -1 } }, "WIRE_NEGATIVE_TOKENS"],
    ["nanos out of range", { ...valid, timestamp: { ...valid.timestamp, nanos: 1_000_000_000 } }, "WIRE_TIMESTAMP_OUT_OF_RANGE"],
    ["offset out of range", { ...valid, timestamp: { ...valid.timestamp, offset_seconds: 90_000 } }, "WIRE_TIMESTAMP_OUT_OF_RANGE"],
    ["year out of range", { ...valid, timestamp: { ...valid.timestamp, epoch_seconds: 300_000_000_000 } }, "WIRE_TIMESTAMP_OUT_OF_RANGE"],
    ["status code out of range", { ...valid, status_code: 70_000 }, "WIRE_INVALID_FIELD"],
    ["negative latency", { ...valid, latency_ms: -1 }, "WIRE_INVALID_FIELD"],
    ["an over-long source", { ...valid, source: "s".repeat(5000) }, "WIRE_STRING_TOO_LONG"],
  ])("rejects %s", (_name, value, code) => {
    expectWireError(() => decodeUsageRecord(raw.encode(value)), code as Parameters<typeof expectWireError>[1]);
  });

  it("rejects a long beyond 2^53 - 2 in the body with WIRE_UNSAFE_INTEGER", () => {
    const bytes = raw.encode({ ...valid, timestamp: null });
    // Body: the null branch of the timestamp union (0x00), then latency_ms 10 as the zigzag varint 0x14.
    expect([bytes[10], bytes[11]]).toEqual([0x00, 0x14]);
    const huge = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]); // zigzag 2^60, i.e. 2^59
    const forged = Buffer.concat([bytes.subarray(0, 11), huge, bytes.subarray(12)]);
    expectWireError(() => decodeUsageRecord(forged), "WIRE_UNSAFE_INTEGER");
  });
});

describe("schema evolution", () => {
  const v1 = createUsageRecordCodec({ schema: v1Schema });

  it("keeps version 1 a real older version: a different fingerprint, fields only added since", () => {
    expect(v1.schema.fingerprint).not.toBe(usageRecordSchema.fingerprint);
    const v1Fields = (v1Schema as { fields: { name: string }[] }).fields.map((field) => field.name);
    const v2Fields = (usageRecordSchemaJson as { fields: { name: string; default?: unknown }[] }).fields;
    expect(v2Fields.map((field) => field.name)).toEqual(expect.arrayContaining(v1Fields));
    for (const field of v2Fields.filter((f) => !v1Fields.includes(f.name))) {
      expect(field, field.name).toHaveProperty("default");
    }
  });

  it("decodes version-1 bytes with the current reader once version 1 is registered", () => {
    const reader = createUsageRecordCodec();
    const bytes = v1.encode(FULL_RECORD);
    expectWireError(() => reader.decode(bytes), "WIRE_UNKNOWN_FINGERPRINT");
    const version = reader.registry.register(v1Schema);
    expect(version.fingerprint).toBe(v1.schema.fingerprint);
    expect(reader.registry.has(v1.schema.fingerprint)).toBe(true);
    expect(reader.registry.versions().map((v) => v.fingerprintHex)).toEqual([usageRecordSchema.fingerprintHex, v1.schema.fingerprintHex]);
    // Fields version 1 lacks take their defaults: absent extras.
    expect(reader.decode(bytes)).toStrictEqual(v1View(FULL_RECORD));
    // Registering again changes nothing.
    reader.registry.register(v1Schema);
    expect(reader.registry.versions()).toHaveLength(2);
  });

  it("decodes any version-1 record with the current reader, and current bytes alongside (fast-check)", () => {
    const reader = createUsageRecordCodec({ writerSchemas: [v1Schema] });
    fc.assert(
      fc.property(usageRecordArb, (record) => {
        expect(reader.decode(v1.encode(record))).toStrictEqual(v1View(record));
        expect(reader.decode(encodeUsageRecord(record))).toStrictEqual(record);
      }),
      { numRuns: 500 },
    );
  });

  it("decodes current bytes with a version-1 reader (the fields it does not know are skipped)", () => {
    const oldReader = createUsageRecordCodec({ schema: v1Schema, writerSchemas: [usageRecordSchemaJson] });
    fc.assert(
      fc.property(usageRecordArb, (record) => {
        expect(oldReader.decode(encodeUsageRecord(record))).toStrictEqual(v1View(record));
      }),
      { numRuns: 500 },
    );
  });

  it("the default registry accepts version 1 after registration", () => {
    const bytes = v1.encode(FULL_RECORD);
    if (!usageRecordRegistry.has(v1.schema.fingerprint)) {
      expectWireError(() => decodeUsageRecord(bytes), "WIRE_UNKNOWN_FINGERPRINT");
      usageRecordRegistry.register(v1Schema);
    }
    expect(decodeUsageRecord(bytes)).toStrictEqual(v1View(FULL_RECORD));
  });

  it("refuses writer schemas that cannot resolve into the reader", () => {
    const renamed = { ...(v1Schema as object), name: "OtherRecord" };
    expectWireError(() => createUsageRecordCodec().registry.register(renamed), "WIRE_INVALID_SCHEMA");
    const retyped = {
      type: "record",
      name: "UsageRecord",
      namespace: "dev.usageledger",
      fields: [{ name: "api_key", type: "long" }],
    };
    expectWireError(() => createUsageRecordCodec().registry.register(retyped), "WIRE_INVALID_SCHEMA");
    expectWireError(() => createUsageRecordCodec().registry.register({ type: "record", name: "x" }), "WIRE_INVALID_SCHEMA");
  });
});
