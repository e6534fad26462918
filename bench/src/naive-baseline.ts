import type { Consumer, Kafka } from "kafkajs";
import { formatRfc3339Nano } from "@usage-ledger/statistics";
import type { UsageRecord } from "@usage-ledger/statistics";
import { withTimeout } from "./bench-kafka";

/**
 * The naive baseline of the end-to-end benchmark: what a straightforward implementation of the
 * same job looks like. Records travel as JSON text (the timestamp as RFC 3339 text in the node's
 * own offset, as CLIProxyAPI writes it); a kafkajs `eachMessage` consumer parses each one, builds
 * the seed's dedup key as a string and keeps it in a `Set`, and stores one plain object per
 * detail in the seed's nested shape (API -> model -> details, with the per-API, per-model, global
 * and day/hour counters). It computes the same statistics as the real core for this input (no
 * negative totals, no blank keys, one offset per node), so the comparison is like for like; where
 * it cuts a corner (the dedup key's timestamp is not converted to UTC) the corner favours it.
 */

/** The JSON a naive publisher sends for a record (every field the Avro record carries). */
export function naiveJson(record: UsageRecord): string {
  const t = record.tokens;
  return JSON.stringify({
    timestamp: record.timestamp === undefined ? "" : formatRfc3339Nano(record.timestamp),
    api_key: record.apiKey,
    model: record.model,
    provider: record.provider,
    endpoint: record.endpoint,
    source: record.source,
    auth_index: record.authIndex,
    auth_id: record.authId,
    auth_type: record.authType,
    failed: record.failed,
    status_code: record.statusCode,
    latency_ms: record.latencyMs,
    tokens: {
      input_tokens: t.inputTokens,
      output_tokens: t.outputTokens,
      reasoning_tokens: t.reasoningTokens,
      cached_tokens: t.cachedTokens,
      total_tokens: t.totalTokens,
    },
    node_id: record.extra?.nodeId ?? "",
    request_id: record.extra?.requestId ?? "",
    ttft_ms: record.extra?.ttftMs ?? 0,
  });
}

interface NaiveRecordJson {
  timestamp: string;
  api_key: string;
  model: string;
  provider: string;
  endpoint: string;
  source: string;
  auth_index: string;
  failed: boolean;
  status_code: number;
  latency_ms: number;
  tokens: { input_tokens: number; output_tokens: number; reasoning_tokens: number; cached_tokens: number; total_tokens: number };
}

interface NaiveDetail {
  timestamp: string;
  latency_ms: number;
  source: string;
  auth_index: string;
  tokens: { input_tokens: number; output_tokens: number; reasoning_tokens: number; cached_tokens: number; total_tokens: number };
  failed: boolean;
}

interface NaiveModel {
  total_requests: number;
  total_tokens: number;
  details: NaiveDetail[];
}

interface NaiveApi {
  total_requests: number;
  total_tokens: number;
  models: Record<string, NaiveModel>;
}

/** The seed's statistics as plain objects, with a Set of string dedup keys. */
export class NaiveStatistics {
  total_requests = 0;
  success_count = 0;
  failure_count = 0;
  total_tokens = 0;
  readonly apis: Record<string, NaiveApi> = {};
  readonly requests_by_day: Record<string, number> = {};
  readonly requests_by_hour: Record<string, number> = {};
  readonly tokens_by_day: Record<string, number> = {};
  readonly tokens_by_hour: Record<string, number> = {};
  readonly seen = new Set<string>();
  details = 0;
  duplicates = 0;

  /** Applies one JSON record; returns false for a duplicate. */
  applyJson(text: string): boolean {
    const record = JSON.parse(text) as NaiveRecordJson;
    const apiName = (record.api_key || record.endpoint || record.provider || "unknown").trim();
    const model = record.model.trim() || "unknown";
    const tokens = { ...record.tokens };
    if (tokens.total_tokens === 0) tokens.total_tokens = tokens.input_tokens + tokens.output_tokens + tokens.reasoning_tokens;
    if (tokens.total_tokens === 0)
      tokens.total_tokens = tokens.input_tokens + tokens.output_tokens + tokens.reasoning_tokens + tokens.cached_tokens;
    const failed = record.failed || record.status_code >= 400;
    // The timestamp text as received (the seed converts it to UTC first; skipping that favours the baseline).
    const key = [
      apiName,
      model,
      record.timestamp,
      record.source,
      record.auth_index,
      failed,
      tokens.input_tokens,
      tokens.output_tokens,
      tokens.reasoning_tokens,
      tokens.cached_tokens,
      tokens.total_tokens,
    ].join("|");
    if (this.seen.has(key)) {
      this.duplicates++;
      return false;
    }
    this.seen.add(key);
    const api = (this.apis[apiName] ??= { total_requests: 0, total_tokens: 0, models: {} });
    const stats = (api.models[model] ??= { total_requests: 0, total_tokens: 0, details: [] });
    stats.details.push({
      timestamp: record.timestamp,
      latency_ms: record.latency_ms,
      source: record.source,
      auth_index: record.auth_index,
      tokens,
      failed,
    });
    api.total_requests++;
    api.total_tokens += tokens.total_tokens;
    stats.total_requests++;
    stats.total_tokens += tokens.total_tokens;
    this.total_requests++;
    if (failed) this.failure_count++;
    else this.success_count++;
    this.total_tokens += tokens.total_tokens;
    // The day and hour in the timestamp's own offset: the text carries them as written.
    const day = record.timestamp.slice(0, 10);
    const hour = record.timestamp.slice(11, 13);
    this.requests_by_day[day] = (this.requests_by_day[day] ?? 0) + 1;
    this.requests_by_hour[hour] = (this.requests_by_hour[hour] ?? 0) + 1;
    this.tokens_by_day[day] = (this.tokens_by_day[day] ?? 0) + tokens.total_tokens;
    this.tokens_by_hour[hour] = (this.tokens_by_hour[hour] ?? 0) + tokens.total_tokens;
    this.details++;
    return true;
  }
}

/**
 * Runs the naive consumer on `topic` from the beginning until it has handled `expected` messages;
 * resolves with the statistics and the elapsed milliseconds from the consumer's start (connect,
 * join, fetch and apply) to the last message.
 */
export async function runNaiveConsumer(options: {
  kafka: Kafka;
  topic: string;
  groupId: string;
  expected: number;
}): Promise<{ statistics: NaiveStatistics; elapsedMs: number }> {
  const statistics = new NaiveStatistics();
  const started = performance.now();
  const consumer: Consumer = options.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
  let handled = 0;
  let finish: (elapsedMs: number) => void = () => undefined;
  const finished = new Promise<number>((done) => {
    finish = done;
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value !== null) statistics.applyJson(message.value.toString("utf8"));
        handled++;
        if (handled === options.expected) finish(performance.now() - started);
      },
    });
    const elapsedMs = await withTimeout(finished, 15 * 60_000, `the naive consumer reading ${options.expected} messages`);
    return { statistics, elapsedMs };
  } finally {
    await consumer.disconnect();
  }
}
