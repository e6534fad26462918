import { readFileSync } from "node:fs";
import { Kafka, Partitioners, logLevel } from "kafkajs";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { RequestStatistics, statisticsKey } from "@usage-ledger/statistics";
import type { UsageRecord } from "@usage-ledger/statistics";
import { createUsageRecordCodec, encodeUsageRecord } from "@usage-ledger/wire";
import { createPartitionRouter } from "../../src/partitions/partition-routing";

/*
 * The corners of the specification in one small stream: names to trim, blank and missing keys,
 * text Go's JSON escapes, the dedup key's `|` collision, the fill rule, duplicates that differ only
 * in latency or UTC offset, records without a timestamp, dead letters, and import bodies with
 * untrimmed names, a blank model, raw and negative totals and Go's zero time.
 */

const v1Codec = createUsageRecordCodec({
  schema: JSON.parse(readFileSync(new URL("../../../../schemas/usage-record-v1.avsc", import.meta.url), "utf8")) as unknown,
});

function record(tag: string, epochSeconds: number, fields: Partial<UsageRecord>): UsageRecord {
  return {
    timestamp: { epochSeconds, nanos: 123_456_789, offsetSeconds: 3600 },
    apiKey: `sk-edge-${tag}`,
    model: "gpt-5",
    provider: "openai",
    endpoint: "POST /v1/chat/completions",
    source: `edge-${tag}@example.com`,
    authIndex: "0",
    authId: "",
    authType: "oauth",
    failed: false,
    statusCode: 200,
    latencyMs: 100,
    tokens: { inputTokens: 10, outputTokens: 5, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
    ...fields,
  };
}

/**
 * Two API names whose dedup keys collide (`a|b` + model `c`, `a` + model `b|c`) and whose messages
 * land on one partition: the fleet keeps the first by log order, whatever order partitions merge in.
 */
function collidingApiNames(tag: string, partitions: number): [string, string] {
  const partitionOf = createPartitionRouter(partitions);
  for (let n = 0; ; n++) {
    const first = `sk-pipe-${tag}-${String(n)}`;
    if (partitionOf(`${first}|x`) === partitionOf(first)) return [`${first}|x`, first];
  }
}

/** Records for the publisher (all with timestamps): every rule of "How to merge" once. */
export function edgeRecords(tag: string, epochSeconds: number, partitions: number): UsageRecord[] {
  const [pipeApi, plainApi] = collidingApiNames(tag, partitions);
  const t = epochSeconds;
  const base = record(tag, t, {});
  return [
    base,
    // The same request again with another latency and written in another offset: a duplicate.
    record(tag, t, { latencyMs: 999, timestamp: { epochSeconds: t, nanos: 123_456_789, offsetSeconds: -18_000 } }),
    record(tag, t + 1, { apiKey: `  sk-pad-${tag}\u3000`, model: "  gpt-5\t" }),
    record(tag, t + 2, { apiKey: "   " }),
    record(tag, t + 3, { apiKey: "", endpoint: "", provider: "" }),
    record(tag, t + 4, { apiKey: "", endpoint: `GET /v1/models?tag=${tag}` }),
    record(tag, t + 5, { apiKey: "", endpoint: "", provider: `gemini-${tag}` }),
    record(tag, t + 6, { model: "" }),
    record(tag, t + 7, { statusCode: 404 }),
    record(tag, t + 8, { failed: true, statusCode: 0 }),
    record(tag, t + 9, { tokens: { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, cachedTokens: 42, totalTokens: 0 } }),
    record(tag, t + 10, { tokens: { inputTokens: 1, outputTokens: 2, reasoningTokens: 3, cachedTokens: 4, totalTokens: 77 } }),
    record(tag, t + 11, {
      apiKey: `sk-<html>&"quote"-${tag}`,
      model: "модель-😀-\u2028",
      source: "a\u0001b\u2029<c>",
      authIndex: "é\\",
    }),
    record(tag, t + 12, { timestamp: { epochSeconds: t + 12, nanos: 0, offsetSeconds: 13 * 3600 + 45 * 60 } }),
    record(tag, t + 13, { timestamp: { epochSeconds: t + 13, nanos: 1, offsetSeconds: -(11 * 3600 + 30 * 60) } }),
    record(tag, t + 14, { apiKey: pipeApi, model: "m" }),
    record(tag, t + 14, { apiKey: plainApi, model: "x|m" }),
  ];
}

/** A message for the raw producer. */
export interface RawMessage {
  readonly key: string | null;
  readonly value: Buffer | null;
}

/**
 * Messages a publisher would never write: records without a timestamp or with Go's zero time
 * (stamped from the Kafka timestamp plus the offset), and dead letters (garbage, a version-1
 * record, a truncated record, no value).
 */
export function rawMessages(tag: string, epochSeconds: number): RawMessage[] {
  const stampless = record(tag, epochSeconds, { timestamp: undefined, source: `stampless-${tag}` });
  const zero = record(tag, epochSeconds, {
    timestamp: { epochSeconds: -62_135_596_800, nanos: 0, offsetSeconds: 7200 },
    source: `zero-${tag}`,
  });
  const valid = encodeUsageRecord(record(tag, epochSeconds, { source: `truncated-${tag}` }));
  return [
    { key: statisticsKey(stampless), value: encodeUsageRecord(stampless) },
    { key: statisticsKey(stampless), value: encodeUsageRecord(stampless) },
    { key: statisticsKey(zero), value: encodeUsageRecord(zero) },
    { key: "garbage", value: Buffer.from("not a usage record") },
    { key: "v1", value: v1Codec.encode(record(tag, epochSeconds, { source: `v1-${tag}` })) },
    { key: "truncated", value: valid.subarray(0, valid.length - 3) },
    { key: "no-value", value: null },
  ];
}

/** Sends raw messages one by one (each its own Kafka timestamp), keyed and partitioned as a publisher would. */
export async function produceRaw(brokers: string[], topic: string, messages: readonly RawMessage[]): Promise<void> {
  const kafka = new Kafka({ clientId: uniqueName("raw-producer"), brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (const message of messages) await producer.send({ topic, acks: -1, messages: [message] });
  } finally {
    await producer.disconnect();
  }
}

/**
 * A `POST /usage/import` body (the seed's export) with the import corners; `existing` is a record
 * that it repeats (as the seed's snapshot shows it): a duplicate the import skips.
 */
export function importBody(tag: string, existing: UsageRecord): unknown {
  const detail = (timestamp: string, source: string, input: number, total: number, failed = false): Record<string, unknown> => ({
    timestamp,
    latency_ms: 12,
    source,
    auth_index: "1",
    tokens: { input_tokens: input, output_tokens: 0, reasoning_tokens: 0, cached_tokens: 0, total_tokens: total },
    failed,
  });
  const repeated = new RequestStatistics();
  repeated.apply(existing);
  return {
    version: 1,
    exported_at: "2026-02-03T04:05:06Z",
    usage: {
      total_requests: 999,
      apis: {
        ...repeated.snapshot().apis,
        [` sk-import-${tag} `]: {
          models: {
            "": { details: [detail("2026-01-10T10:00:00.123456789+05:30", `imp-${tag}`, 10, 0)] },
            " claude ": {
              details: [
                detail("2026-01-10T10:00:01Z", `imp-${tag}`, 10, -40),
                detail("2026-01-10T10:00:02-08:00", `imp-${tag}`, 0, 0, true),
                detail("0001-01-01T00:00:00Z", `imp-zero-${tag}`, 3, 0),
              ],
            },
          },
        },
        "  ": { models: { m: { details: [detail("2026-01-10T10:00:03Z", `blank-${tag}`, 1, 0)] } } },
      },
    },
  };
}
