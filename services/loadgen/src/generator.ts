import type { Timestamp, UsageRecord } from "@usage-ledger/statistics";
import { createRandom, weightedSampler, zipfWeights } from "./random";
import type { Random, WeightedSampler } from "./random";

/**
 * The simulated traffic of one proxy node: realistic, deterministic for a seed, and such that two
 * distinct records of the whole fleet never share the seed's dedup key (their timestamps differ).
 */

/** One model the fleet calls, with its provider and how popular it is. */
export interface ModelProfile {
  readonly model: string;
  readonly provider: string;
  readonly weight: number;
  /** Probability that a call produces reasoning tokens. */
  readonly reasoning: number;
  /** Median output tokens. */
  readonly outputMedian: number;
  /** How the provider reports total_tokens: `sum` (input+output+reasoning) or `unreported` (0: the core computes it). */
  readonly totals: "sum" | "unreported" | "mixed";
}

/** The models of the simulated fleet (weights are relative). */
export const MODELS: readonly ModelProfile[] = [
  { model: "gpt-5", provider: "codex", weight: 28, reasoning: 0.9, outputMedian: 420, totals: "sum" },
  { model: "claude-sonnet-4-5", provider: "claude", weight: 24, reasoning: 0.35, outputMedian: 520, totals: "sum" },
  { model: "gemini-2.5-pro", provider: "gemini-cli", weight: 15, reasoning: 0.8, outputMedian: 380, totals: "sum" },
  { model: "gpt-5-mini", provider: "codex", weight: 12, reasoning: 0.6, outputMedian: 220, totals: "sum" },
  { model: "claude-haiku-4-5", provider: "claude", weight: 9, reasoning: 0.1, outputMedian: 180, totals: "sum" },
  { model: "gemini-2.5-flash", provider: "gemini", weight: 7, reasoning: 0.5, outputMedian: 200, totals: "mixed" },
  { model: "qwen3-coder-plus", provider: "qwen", weight: 4, reasoning: 0, outputMedian: 300, totals: "unreported" },
  { model: "", provider: "openai-compatibility", weight: 1, reasoning: 0, outputMedian: 150, totals: "mixed" },
];

/** HTTP statuses of failed calls, and how often each occurs among failures. */
export const FAILURE_STATUSES: ReadonlyArray<{ readonly status: number; readonly weight: number }> = [
  { status: 429, weight: 40 },
  { status: 503, weight: 15 },
  { status: 500, weight: 14 },
  { status: 502, weight: 10 },
  { status: 400, weight: 9 },
  { status: 529, weight: 7 },
  { status: 401, weight: 5 },
];

/** Routes of the proxy; a record without an API key falls back to its route as the statistics key. */
const ENDPOINTS: readonly string[] = [
  "POST /v1/chat/completions",
  "POST /v1/messages",
  "POST /v1/responses",
  "POST /v1beta/models/gemini:generateContent",
];

/** UTC offsets of the simulated nodes, in seconds east of UTC (node i takes entry i mod length). */
export const NODE_OFFSETS: readonly number[] = [0, 8 * 3600, -5 * 3600, 5 * 3600 + 1800, 3600, -8 * 3600, 9 * 3600, -3 * 3600];

/** Options of {@link createRecordGenerator}. */
export interface RecordGeneratorOptions {
  readonly seed: number;
  readonly nodeIndex: number;
  readonly nodes: number;
  /** The instant of the fleet's first record. */
  readonly start: Timestamp;
  /** Nanoseconds between two consecutive records of the fleet (>= 1). */
  readonly stepNs: number;
  /** Distinct API keys of the fleet (default 200). */
  readonly apiKeys?: number;
  /** Zipf exponent of API-key popularity (default 1.1). */
  readonly zipfExponent?: number;
  /** Fraction of failed calls (default 0.03). */
  readonly failureRate?: number;
  /** Fraction of calls without an API key (default 0.005). */
  readonly anonymousRate?: number;
}

/** Generates one node's records in order. */
export interface RecordGenerator {
  readonly nodeId: string;
  /** Records generated so far. */
  readonly generated: number;
  next(): UsageRecord;
}

/** The API keys of a fleet with `count` keys and a seed (rank 0 = heaviest user). */
export function fleetApiKeys(seed: number, count: number): string[] {
  const random = createRandom(seed).fork("api-keys");
  const hex = (): string => random.int(0x1_0000_0000).toString(16).padStart(8, "0");
  return Array.from({ length: count }, () => `sk-ledger-${hex()}${hex()}`);
}

/** Upstream credentials per provider: `source` (e-mail, project id, masked key) with its auth index. */
function credentials(provider: string): ReadonlyArray<{ source: string; authIndex: string; authType: string }> {
  switch (provider) {
    case "codex":
      return [0, 1, 2].map((i) => ({ source: `dev${i}@example.com`, authIndex: String(i), authType: "oauth" }));
    case "claude":
      return [3, 4].map((i) => ({ source: `ops${i}@example.com`, authIndex: String(i), authType: "oauth" }));
    case "gemini-cli":
      return [5, 6].map((i) => ({ source: `gen-lang-client-00${i}`, authIndex: String(i), authType: "oauth" }));
    default:
      return [{ source: `sk-...${provider.slice(0, 4)}`, authIndex: "9", authType: "api_key" }];
  }
}

function clampInt(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, Math.round(value)));
}

/** Adds `ns` nanoseconds to a timestamp, keeping its offset. */
export function addNanos(ts: Timestamp, ns: number): Timestamp {
  const extraSeconds = Math.floor(ns / 1e9);
  let nanos = ts.nanos + (ns - extraSeconds * 1e9);
  let epochSeconds = ts.epochSeconds + extraSeconds;
  if (nanos >= 1e9) {
    nanos -= 1e9;
    epochSeconds += 1;
  }
  return { epochSeconds, nanos, offsetSeconds: ts.offsetSeconds };
}

interface Samplers {
  readonly keys: WeightedSampler;
  readonly models: WeightedSampler;
  readonly failures: WeightedSampler;
}

/**
 * Creates the generator of node `nodeIndex`. Its k-th record is stamped `start + (k*nodes + nodeIndex)
 * * stepNs` (in the node's own UTC offset), so timestamps strictly increase per node and are unique
 * across the fleet.
 */
export function createRecordGenerator(options: RecordGeneratorOptions): RecordGenerator {
  if (!Number.isInteger(options.stepNs) || options.stepNs < 1) throw new RangeError("stepNs must be an integer >= 1");
  const random: Random = createRandom(options.seed).fork(`node-${options.nodeIndex}`);
  const keys = fleetApiKeys(options.seed, options.apiKeys ?? 200);
  const samplers: Samplers = {
    keys: weightedSampler(zipfWeights(keys.length, options.zipfExponent ?? 1.1)),
    models: weightedSampler(MODELS.map((m) => m.weight)),
    failures: weightedSampler(FAILURE_STATUSES.map((f) => f.weight)),
  };
  const failureRate = options.failureRate ?? 0.03;
  const anonymousRate = options.anonymousRate ?? 0.005;
  const offsetSeconds = NODE_OFFSETS[options.nodeIndex % NODE_OFFSETS.length] ?? 0;
  const nodeId = `node-${options.nodeIndex}`;
  let generated = 0;

  return {
    nodeId,
    get generated() {
      return generated;
    },
    next() {
      const sequence = generated * options.nodes + options.nodeIndex;
      generated++;
      const instant = addNanos(options.start, sequence * options.stepNs);
      const timestamp: Timestamp = { ...instant, offsetSeconds };
      const profile = MODELS[samplers.models.sample(random)] ?? MODELS[0]!;
      const anonymous = random.chance(anonymousRate);
      const apiKey = anonymous ? "" : (keys[samplers.keys.sample(random)] ?? "");
      const endpoint = ENDPOINTS[random.int(ENDPOINTS.length)] ?? "";
      const creds = credentials(profile.provider);
      const credential = creds[random.int(creds.length)] ?? creds[0]!;
      const failed = random.chance(failureRate);
      const statusCode = failed ? (FAILURE_STATUSES[samplers.failures.sample(random)]?.status ?? 500) : 200;
      const inputTokens = clampInt(random.logNormal(1400, 1.1), 1, 400_000);
      const cachedTokens = random.chance(0.45) ? clampInt(inputTokens * random.next() * 0.9, 0, inputTokens) : 0;
      let outputTokens = clampInt(random.logNormal(profile.outputMedian, 0.9), 1, 64_000);
      let reasoningTokens = random.chance(profile.reasoning) ? clampInt(random.logNormal(600, 1.0), 1, 32_000) : 0;
      // A failed call is usually refused before any output (429, 401) or cut short.
      if (failed) {
        outputTokens = statusCode === 429 || statusCode === 401 || statusCode === 400 ? 0 : clampInt(outputTokens * 0.1, 0, outputTokens);
        reasoningTokens = 0;
      }
      const reportTotal = profile.totals === "sum" || (profile.totals === "mixed" && random.chance(0.5));
      const totalTokens = reportTotal ? inputTokens + outputTokens + reasoningTokens : 0;
      const latencyMs = clampInt(random.logNormal(700, 0.6) + outputTokens * 12 + reasoningTokens * 4, 20, 600_000);
      return {
        timestamp,
        apiKey,
        model: profile.model,
        provider: profile.provider,
        endpoint,
        source: credential.source,
        authIndex: credential.authIndex,
        authId: `${profile.provider}-${credential.authIndex}`,
        authType: credential.authType,
        // Some proxies flag the failure, others only report the status: the core resolves both.
        failed: failed && random.chance(0.7),
        statusCode,
        latencyMs,
        tokens: { inputTokens, outputTokens, reasoningTokens, cachedTokens, totalTokens },
        extra: { nodeId, requestId: `${nodeId}-${generated}`, ttftMs: clampInt(latencyMs * 0.3, 0, latencyMs) },
      };
    },
  };
}
