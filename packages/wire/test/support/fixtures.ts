import type { Timestamp, UsageRecord, UsageRecordExtra } from "@usage-ledger/statistics";
import type { DetailChunk, DetailColumns } from "../../src/detail-chunk";
import fc from "fast-check";
import { expect } from "vitest";
import { WIRE_ERROR_CODES, isWireError, type WireError, type WireErrorCode } from "../../src/errors";
import { MAX_WIRE_INTEGER } from "../../src/validation";

/** Test support of packages/wire (used by its unit tests only). */

/** Runs `action`, expects it to throw a WireError of `code`, and returns the error. */
export function expectWireError(action: () => unknown, code: WireErrorCode): WireError {
  const error = thrownBy(action);
  expect(isWireError(error), `expected a WireError ${code}, got ${String(error)}`).toBe(true);
  expect((error as WireError).code).toBe(code);
  return error as WireError;
}

/** What `action` throws; fails the test when it returns. */
function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, nothing was thrown");
}

/** Runs `action` and returns "ok" or the code of the WireError it throws; any other error fails the test. */
export function outcome(action: () => unknown): "ok" | WireErrorCode {
  try {
    action();
    return "ok";
  } catch (error) {
    if (!isWireError(error) || !WIRE_ERROR_CODES.includes(error.code)) {
      throw new Error(`not a coded WireError: ${String(error)}`, { cause: error });
    }
    return error.code;
  }
}

/** 0000-01-01T00:00:00 local time, in seconds. */
const MIN_LOCAL = -62_167_219_200;
/** 9999-12-31T23:59:59 local time, in seconds. */
const MAX_LOCAL = 253_402_300_799;

/** Any storable timestamp: whole-minute offsets within ±24 h, local years 0000..9999, any nanos. */
export const timestampArb: fc.Arbitrary<Timestamp> = fc
  .record({
    local: fc.oneof(fc.integer({ min: MIN_LOCAL, max: MAX_LOCAL }), fc.constantFrom(MIN_LOCAL, MAX_LOCAL, 0, 1_768_027_619)),
    nanos: fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.constantFrom(0, 1, 999_999_999, 100_000_000)),
    offsetMinutes: fc.oneof(fc.integer({ min: -1439, max: 1439 }), fc.constantFrom(0, -1439, 1439, 480, -300, 345)),
  })
  // `+ 0` turns -0 (offset 0 of a negative zero) into 0.
  .map(({ local, nanos, offsetMinutes }) => ({ epochSeconds: local - offsetMinutes * 60, nanos, offsetSeconds: offsetMinutes * 60 + 0 }));

const textArb = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 24 }),
  fc.string({ maxLength: 24 }),
  fc.constantFrom("", "alice@example.com", "日本語のモデル", "ключ-😀-🇩🇪", "e\u0301\u0000\u202e", "POST /v1/chat/completions?x=1"),
);

const countArb = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000 }),
  fc.constantFrom(0, 1, MAX_WIRE_INTEGER),
  fc.integer({ min: 0, max: MAX_WIRE_INTEGER }),
);

const extraArb: fc.Arbitrary<UsageRecordExtra> = fc.record(
  {
    ttftMs: countArb,
    alias: textArb,
    executorType: textArb,
    requestId: textArb,
    cacheReadTokens: countArb,
    cacheCreationTokens: countArb,
    generate: fc.boolean(),
    reasoningEffort: textArb,
    serviceTier: textArb,
    responseServiceTier: textArb,
    nodeId: textArb,
  },
  { requiredKeys: [] },
);

/** Any valid usage record: every field, unicode strings, timestamps at the extremes, optional fields present or not. */
export const usageRecordArb: fc.Arbitrary<UsageRecord> = fc
  .record({
    timestamp: fc.option(timestampArb, { nil: undefined, freq: 8 }),
    apiKey: textArb,
    model: textArb,
    provider: textArb,
    endpoint: textArb,
    source: textArb,
    authIndex: textArb,
    authId: textArb,
    authType: textArb,
    failed: fc.boolean(),
    statusCode: fc.oneof(fc.constantFrom(0, 200, 400, 429, 500, 999), fc.integer({ min: 0, max: 999 })),
    latencyMs: countArb,
    tokens: fc.record({
      inputTokens: countArb,
      outputTokens: countArb,
      reasoningTokens: countArb,
      cachedTokens: countArb,
      totalTokens: countArb,
    }),
    extra: fc.option(extraArb, { nil: undefined }),
  })
  .map((generated) => {
    // Plain objects (fast-check's records have no prototype); an empty `extra` decodes as none.
    const { extra, tokens, timestamp, ...rest } = generated;
    const record: UsageRecord = { ...rest, timestamp: timestamp === undefined ? undefined : { ...timestamp }, tokens: { ...tokens } };
    return extra === undefined || Object.keys(extra).length === 0 ? record : { ...record, extra: { ...extra } };
  });

/** A fixed, fully populated record of the current payload era. */
export const FULL_RECORD: UsageRecord = {
  timestamp: { epochSeconds: 1_768_027_619, nanos: 123_456_789, offsetSeconds: 28_800 },
  apiKey: "sk-client-1",
  model: "gemini-2.5-pro",
  provider: "gemini",
  endpoint: "POST /v1/chat/completions",
  source: "alice@example.com",
  authIndex: "7",
  authId: "auth-7",
  authType: "oauth",
  failed: true,
  statusCode: 429,
  latencyMs: 1532,
  tokens: { inputTokens: 100, outputTokens: 30, reasoningTokens: 12, cachedTokens: 8, totalTokens: 142 },
  extra: {
    ttftMs: 210,
    alias: "pro",
    executorType: "gemini-cli",
    requestId: "req-1",
    cacheReadTokens: 8,
    cacheCreationTokens: 3,
    generate: true,
    reasoningEffort: "high",
    serviceTier: "priority",
    responseServiceTier: "default",
    nodeId: "node-a",
  },
};

/** The smallest record: every field at its default, no timestamp, no extra. */
export const EMPTY_RECORD: UsageRecord = {
  timestamp: undefined,
  apiKey: "",
  model: "",
  provider: "",
  endpoint: "",
  source: "",
  authIndex: "",
  authId: "",
  authType: "",
  failed: false,
  statusCode: 0,
  latencyMs: 0,
  tokens: { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
};

/** One detail of a chunk, column by column. */
export interface Row {
  api: number;
  model: number;
  source: number;
  authIndex: number;
  epochSeconds: number;
  nanos: number;
  offsetSeconds: number;
  failed: number;
  latencyMs: number;
  inputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  totalTokens: number;
}

/** Columns of rows (the in-memory shape of the statistics store's exportDetails). */
export function columnsOf(strings: string[], rows: readonly Row[]): DetailColumns {
  const pick = (key: keyof Row): number[] => rows.map((row) => row[key]);
  return {
    count: rows.length,
    strings,
    api: Uint32Array.from(pick("api")),
    model: Uint32Array.from(pick("model")),
    source: Uint32Array.from(pick("source")),
    authIndex: Uint32Array.from(pick("authIndex")),
    epochSeconds: Float64Array.from(pick("epochSeconds")),
    nanos: Int32Array.from(pick("nanos")),
    offsetSeconds: Int32Array.from(pick("offsetSeconds")),
    failed: Uint8Array.from(pick("failed")),
    latencyMs: Float64Array.from(pick("latencyMs")),
    inputTokens: Float64Array.from(pick("inputTokens")),
    outputTokens: Float64Array.from(pick("outputTokens")),
    reasoningTokens: Float64Array.from(pick("reasoningTokens")),
    cachedTokens: Float64Array.from(pick("cachedTokens")),
    totalTokens: Float64Array.from(pick("totalTokens")),
  };
}

/** A deterministic chunk of `count` details over a handful of strings. */
export function sampleChunk(count: number): DetailChunk {
  const rows: Row[] = Array.from({ length: count }, (_, i) => ({
    api: i % 3,
    model: 3 + (i % 2),
    source: 5 + (i % 2),
    authIndex: 7,
    epochSeconds: 1_768_027_619 + i,
    nanos: (i * 7919) % 1_000_000_000,
    offsetSeconds: 28_800,
    failed: i % 11 === 0 ? 1 : 0,
    latencyMs: 200 + (i % 1000),
    inputTokens: 100 + (i % 5000),
    outputTokens: 30 + (i % 700),
    reasoningTokens: i % 13,
    cachedTokens: i % 2 === 0 ? 0 : 64,
    totalTokens: 142 + (i % 5700),
  }));
  return {
    sourceTopic: "usage.records",
    partition: 3,
    generation: 12,
    writerEpoch: 2,
    chunkIndex: 0,
    detailOffset: 0,
    columns: columnsOf(
      ["sk-a", "sk-b", "POST /v1/messages", "gpt-5", "claude-sonnet-4-5", "alice@example.com", "bob@example.org", "0"],
      rows,
    ),
  };
}

/**
 * A hand-written Avro binary encoder for tests that need bytes no codec of ours writes (several
 * array blocks, overlong varints, longs beyond 2^53, ints beyond 32 bits). Longs are bigints, so
 * every value is exact.
 */
export class AvroBytes {
  private readonly parts: number[] = [];

  /** A zigzag varint of any 64-bit value. */
  long(value: bigint | number): this {
    const n = BigInt(value);
    let z = n >= 0n ? n << 1n : (-n << 1n) - 1n;
    do {
      const low = Number(z & 0x7fn);
      z >>= 7n;
      this.parts.push(z > 0n ? low | 0x80 : low);
    } while (z > 0n);
    return this;
  }

  /** Raw bytes. */
  raw(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }

  /** A string (UTF-8) or bytes, with its length. */
  string(value: string | Uint8Array): this {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    this.long(bytes.length);
    this.parts.push(...bytes);
    return this;
  }

  /** An array written in the given blocks (each a list of item writers), then the terminating 0. */
  array<T>(blocks: readonly (readonly T[])[], item: (out: this, value: T) => void): this {
    for (const block of blocks) {
      if (block.length === 0) continue;
      this.long(block.length);
      for (const value of block) item(this, value);
    }
    return this.long(0);
  }

  /** The bytes so far. */
  bytes(): Buffer {
    return Buffer.from(this.parts);
  }
}

/** The outcome of a decode: the value, or the code and message of the WireError it throws (any other error fails the test). */
export function result(action: () => unknown): { ok: unknown } | { code: WireErrorCode; message: string } {
  try {
    return { ok: action() };
  } catch (error) {
    if (!isWireError(error)) {
      throw new Error(`not a WireError: ${String(error)}`, { cause: error });
    }
    return { code: error.code, message: error.message };
  }
}

/** Every message that differs from `message` in one byte of its body (each position, each byte value), plus the original. */
export function* singleByteEdits(message: Buffer, from = 10): Generator<Buffer> {
  yield message;
  for (let at = from; at < message.length; at++) {
    for (let byte = 0; byte < 256; byte++) {
      if (byte === message[at]) continue;
      const edited = Buffer.from(message);
      edited[at] = byte;
      yield edited;
    }
  }
}

/** The fields of a schema (parsed JSON) as the fast decoders list them: names and types, records by their fields, arrays as `{ array: items }`. */
export function schemaLayout(type: unknown): unknown {
  if (typeof type === "string") return type;
  if (Array.isArray(type)) return type.map(schemaLayout);
  const t = type as { type: string; fields?: { name: string; type: unknown }[]; items?: unknown };
  if (t.type === "record") return (t.fields ?? []).map((field) => [field.name, schemaLayout(field.type)]);
  if (t.type === "array") return { array: schemaLayout(t.items) };
  return t.type;
}
