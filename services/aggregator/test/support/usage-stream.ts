import { RequestStatistics } from "@usage-ledger/statistics";
import type { DetailColumns, UsageRecord } from "@usage-ledger/statistics";
import { seededRandom } from "./records";

/**
 * A known stream of usage records for the dashboard's tests, timed relative to `nowMs` in bands
 * that sit at least several minutes away from every window edge of the dashboard (the 30-minute
 * rate window, the 60-minute sparklines, the 7 h / 24 h / 7 d ranges, the 7-day health grid), so
 * that a test taking a few minutes sees the same numbers as its expectation however the clock moves.
 */

const MINUTE = 60_000;

/** [from, to] minutes before now, and how many of every 100 records fall in the band. */
const BANDS: ReadonlyArray<{ readonly from: number; readonly to: number; readonly share: number }> = [
  { from: 2, to: 24, share: 10 }, // the rate window (30 min) and the sparklines (60 min)
  { from: 36, to: 54, share: 10 }, // the sparklines only
  { from: 70, to: 5 * 60, share: 20 }, // "7h"
  { from: 8 * 60, to: 22 * 60, share: 20 }, // "24h"
  { from: 26 * 60, to: 165 * 60, share: 25 }, // "7d" and the health grid
  { from: 171 * 60, to: 40 * 24 * 60, share: 15 }, // "all" only
];

const STREAM_MODELS = ["gpt-5", "claude-sonnet-4-5", "gemini-2.5-pro", "gpt-5-mini", "qwen3-coder-plus"];
const OFFSETS = [0, 8 * 3600, -5 * 3600, 5 * 3600 + 1800];

/** Options of {@link knownUsageStream}. */
export interface KnownStreamOptions {
  readonly nowMs: number;
  readonly count: number;
  readonly seed: number;
  readonly apiKeys?: number;
}

/** `count` distinct records (see the module comment). */
export function knownUsageStream(options: KnownStreamOptions): UsageRecord[] {
  const random = seededRandom(options.seed);
  const apiKeys = options.apiKeys ?? 12;
  const records: UsageRecord[] = [];
  for (let index = 0; index < options.count; index++) {
    let pick = random() * 100;
    const band = BANDS.find((entry) => (pick -= entry.share) < 0) ?? BANDS[BANDS.length - 1]!;
    const minutesAgo = band.from + random() * (band.to - band.from);
    const atMs = Math.floor(options.nowMs - minutesAgo * MINUTE);
    const epochSeconds = Math.floor(atMs / 1000);
    const nanos = (atMs - epochSeconds * 1000) * 1_000_000 + (index % 1_000_000);
    const model = STREAM_MODELS[Math.floor(random() ** 1.5 * STREAM_MODELS.length)]!;
    const input = 50 + Math.floor(random() * 4000);
    const cached = random() < 0.4 ? Math.floor(random() * input) : 0;
    const output = 20 + Math.floor(random() * 900);
    const reasoning = model.startsWith("gpt-5") || model.startsWith("gemini") ? Math.floor(output * random() * 0.6) : 0;
    const failed = random() < 0.06;
    records.push({
      timestamp: { epochSeconds, nanos, offsetSeconds: OFFSETS[index % OFFSETS.length]! },
      apiKey: random() < 0.92 ? `sk-ledger-demo-${String(Math.floor(random() ** 2 * apiKeys)).padStart(2, "0")}` : "",
      model,
      provider: model.startsWith("claude") ? "claude" : model.startsWith("gemini") ? "gemini" : "codex",
      endpoint: "POST /v1/chat/completions",
      source: `account-${Math.floor(random() * 4)}@example.com`,
      authIndex: String(Math.floor(random() * 2)),
      authId: "",
      authType: "oauth",
      failed: false,
      statusCode: failed ? 502 : 200,
      latencyMs: random() < 0.1 ? 0 : 200 + Math.floor(random() * 5000),
      tokens: { inputTokens: input, outputTokens: output, reasoningTokens: reasoning, cachedTokens: cached, totalTokens: 0 },
    });
  }
  return records;
}

/** The records' details as the ledger keeps them (keys resolved, totals normalised, duplicates gone). */
export function detailsOf(records: readonly UsageRecord[]): { statistics: RequestStatistics; details: DetailColumns } {
  const statistics = new RequestStatistics();
  for (const record of records) statistics.apply(record);
  return { statistics, details: statistics.exportDetails() };
}
