import { RequestStatistics, type Timestamp, type UsageRecord } from "@usage-ledger/statistics";

/**
 * Deterministic test data for this package's unit and integration tests: usage records with
 * strictly increasing nanosecond timestamps (so every one is distinct), several API keys, models,
 * credentials, UTC offsets, failures and token shapes.
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same records. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OFFSETS = [0, 8 * 3600, -5 * 3600, 5 * 3600 + 30 * 60];
const MODELS = ["gpt-5", "claude-sonnet-4-5", "gemini-2.5-pro", "", "o3"];

/** Options of {@link makeRecords}. */
export interface MakeRecordsOptions {
  readonly count: number;
  readonly seed?: number;
  /** Index of the first record (records with different `start` never collide). Default 0. */
  readonly start?: number;
  /** Distinct API keys. Default 24. */
  readonly apiKeys?: number;
}

/** `count` distinct usage records; record `i` of a run is the same for every call with the same seed. */
export function makeRecords(options: MakeRecordsOptions): UsageRecord[] {
  const random = seededRandom(options.seed ?? 1);
  const start = options.start ?? 0;
  const apiKeys = options.apiKeys ?? 24;
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const records: UsageRecord[] = [];
  for (let i = start; i < start + options.count; i++) {
    const timestamp: Timestamp = {
      epochSeconds: 1_767_225_600 + Math.floor(i / 1000),
      nanos: (i % 1000) * 1_000_000 + 123_457,
      offsetSeconds: pick(OFFSETS),
    };
    const input = Math.floor(random() * 5000);
    const output = Math.floor(random() * 2000);
    const shape = random();
    records.push({
      timestamp,
      apiKey: `sk-${String(Math.floor(random() * apiKeys)).padStart(3, "0")}`,
      model: pick(MODELS),
      provider: "openai",
      endpoint: "POST /v1/chat/completions",
      source: `user${String(Math.floor(random() * 7))}@example.com`,
      authIndex: String(Math.floor(random() * 5)),
      authId: "",
      authType: "",
      failed: shape < 0.05,
      statusCode: shape < 0.08 ? 500 : 200,
      latencyMs: Math.floor(random() * 3000),
      tokens: {
        inputTokens: input,
        outputTokens: output,
        reasoningTokens: shape > 0.7 ? Math.floor(random() * 900) : 0,
        cachedTokens: shape > 0.5 ? Math.floor(random() * 400) : 0,
        totalTokens: shape > 0.3 ? 0 : input + output,
      },
    });
  }
  return records;
}

/** A store with `records` applied (the aggregator's path: dedup by the seed's key). */
export function statisticsOf(records: Iterable<UsageRecord>, into: RequestStatistics = new RequestStatistics()): RequestStatistics {
  for (const record of records) into.apply(record);
  return into;
}

/** Applies `count` generated records (see {@link makeRecords}) in batches, without holding them all. */
export function fillStatistics(options: MakeRecordsOptions & { readonly into?: RequestStatistics }): RequestStatistics {
  const into = options.into ?? new RequestStatistics({ initialCapacity: options.count });
  const start = options.start ?? 0;
  const batch = 50_000;
  for (let done = 0; done < options.count; done += batch) {
    statisticsOf(
      makeRecords({ ...options, start: start + done, count: Math.min(batch, options.count - done), seed: (options.seed ?? 1) + done }),
      into,
    );
  }
  return into;
}
