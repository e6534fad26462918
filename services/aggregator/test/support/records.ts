import { createPublisher } from "@usage-ledger/publisher";
import type { DeliveryReport } from "@usage-ledger/publisher";
import { RequestStatistics } from "@usage-ledger/statistics";
import type { UsageRecord } from "@usage-ledger/statistics";
import { testLogger } from "./harness";

/** A small deterministic PRNG (mulberry32), so a test's records are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const MODELS = ["gpt-5", "claude-sonnet-4-5", "gemini-2.5-pro", "", "o3-mini"];
const OFFSETS = [0, 8 * 3600, -5 * 3600, 5 * 3600 + 1800];

/** Options of {@link makeRecords}. */
export interface MakeRecordsOptions {
  readonly count: number;
  readonly seed: number;
  /** Distinct API keys (some records use the endpoint or provider as key instead). Default 40. */
  readonly apiKeys?: number;
  /** Whole seconds since the epoch of the first record. Default 2026-01-10T00:00:00Z. */
  readonly startEpochSeconds?: number;
  /** A tag in every record's source, so that two calls never make the same record. Default "". */
  readonly tag?: string;
}

/**
 * `count` distinct usage records: nanosecond timestamps strictly increasing (a few per second,
 * in several UTC offsets, so day and hour buckets differ), varied keys, models, tokens and failures.
 */
export function makeRecords(options: MakeRecordsOptions): UsageRecord[] {
  const random = seededRandom(options.seed);
  const apiKeys = options.apiKeys ?? 40;
  let epochSeconds = options.startEpochSeconds ?? 1_768_003_200;
  let nanos = 0;
  const records: UsageRecord[] = [];
  for (let index = 0; index < options.count; index++) {
    nanos += 1 + Math.floor(random() * 300_000_000);
    if (nanos >= 1_000_000_000) {
      epochSeconds += Math.floor(nanos / 1_000_000_000);
      nanos %= 1_000_000_000;
    }
    const keyKind = random();
    const status = random() < 0.03 ? 500 : 200;
    records.push({
      timestamp: { epochSeconds, nanos, offsetSeconds: OFFSETS[index % OFFSETS.length]! },
      apiKey: keyKind < 0.9 ? `sk-test-${Math.floor(random() ** 2 * apiKeys)}` : "",
      model: MODELS[Math.floor(random() * MODELS.length)]!,
      provider: keyKind < 0.95 ? "openai" : "gemini",
      endpoint: keyKind < 0.95 ? "POST /v1/chat/completions" : "",
      source: `${options.tag ?? ""}account-${Math.floor(random() * 5)}@example.com`,
      authIndex: String(Math.floor(random() * 3)),
      authId: "",
      authType: "oauth",
      failed: random() < 0.01,
      statusCode: status,
      latencyMs: Math.floor(random() * 5_000),
      tokens: {
        inputTokens: Math.floor(random() * 4_000),
        outputTokens: Math.floor(random() * 1_000),
        reasoningTokens: random() < 0.3 ? Math.floor(random() * 500) : 0,
        cachedTokens: random() < 0.2 ? Math.floor(random() * 1_000) : 0,
        totalTokens: random() < 0.5 ? 0 : Math.floor(random() * 6_000),
      },
    });
  }
  return records;
}

/** The ground truth: the seed's `Record` over the distinct records. */
export function groundTruth(records: Iterable<UsageRecord>): RequestStatistics {
  const statistics = new RequestStatistics();
  for (const record of records) statistics.record(record);
  return statistics;
}

/** Options of {@link publishRecords}. */
export interface PublishRecordsOptions {
  readonly brokers: string[];
  readonly topic: string;
  readonly records: readonly UsageRecord[];
  /** Publishers sharing the work (round robin). Default 1. */
  readonly publishers?: number;
  /** Fraction of records published a second time (the same record). Default 0. */
  readonly resendRate?: number;
  readonly seed?: number;
  /** Called after each record was handed to a publisher (index into `records`), e.g. to inject a fault. */
  readonly onPublished?: (index: number) => void | Promise<void>;
  /** Close deadline of each publisher; default none (deliver everything). */
  readonly deliveryTimeoutMs?: number;
}

/** What {@link publishRecords} sent. */
export interface PublishedRecords {
  /** Messages published (records plus re-sends). */
  readonly messages: number;
  readonly resent: number;
  readonly reports: readonly DeliveryReport[];
}

/**
 * Publishes the records through packages/publisher (keyed by statistics key, nanosecond timestamps
 * as given), `resendRate` of them twice, and closes every publisher (every record delivered or
 * reported failed).
 */
export async function publishRecords(options: PublishRecordsOptions): Promise<PublishedRecords> {
  const random = seededRandom(options.seed ?? 7);
  const count = options.publishers ?? 1;
  const publishers = Array.from({ length: count }, (_, index) =>
    createPublisher({
      brokers: options.brokers,
      topic: options.topic,
      clientId: `test-publisher-${index}`,
      logger: testLogger(`publisher-${index}`),
      batch: { maxRecords: 2_000, lingerMs: 5 },
      maxBufferedRecords: 20_000,
      deliveryTimeoutMs: options.deliveryTimeoutMs ?? 180_000,
      nodeId: `test-node-${index}`,
    }),
  );
  let messages = 0;
  let resent = 0;
  const acks: Array<Promise<unknown>> = [];
  const track = (promise: Promise<unknown>): void => {
    acks.push(promise.catch(() => undefined));
  };
  const resendRate = options.resendRate ?? 0;
  for (const [index, record] of options.records.entries()) {
    const publisher = publishers[index % count]!;
    track(publisher.publish(record));
    messages++;
    if (random() < resendRate) {
      // The same record again, from another publisher: a duplicate delivery the dedup must skip.
      track(publishers[(index + 1) % count]!.publish(record));
      messages++;
      resent++;
    }
    if (options.onPublished !== undefined) await options.onPublished(index);
    // Let the event loop breathe: 'wait' backpressure resolves through it.
    if (index % 1_000 === 999) await new Promise((done) => setImmediate(done));
  }
  await Promise.all(acks);
  const reports = await Promise.all(publishers.map((publisher) => publisher.close()));
  return { messages, resent, reports };
}
