import { describe, expect, it } from "vitest";
import { RequestStatistics, compareTimestamps, formatRfc3339Nano, toUtc } from "@usage-ledger/statistics";
import type { Timestamp, UsageRecord } from "@usage-ledger/statistics";
import { FAILURE_STATUSES, MODELS, NODE_OFFSETS, addNanos, createRecordGenerator, fleetApiKeys } from "./generator";
import { createRandom, weightedSampler, zipfWeights } from "./random";

const START: Timestamp = { epochSeconds: 1_767_225_600, nanos: 0, offsetSeconds: 0 }; // 2026-01-01T00:00:00Z

function generate(count: number, nodeIndex = 0, nodes = 1, seed = 7): UsageRecord[] {
  const generator = createRecordGenerator({ seed, nodeIndex, nodes, start: START, stepNs: 1000 });
  return Array.from({ length: count }, () => generator.next());
}

function share<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  return items.filter(predicate).length / items.length;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The seed's dedup key of a record (tokens normalised, failure resolved). */
function dedupKey(r: UsageRecord): string {
  const t = r.tokens;
  let total = t.totalTokens;
  if (total === 0) total = t.inputTokens + t.outputTokens + t.reasoningTokens;
  if (total === 0) total = t.inputTokens + t.outputTokens + t.reasoningTokens + t.cachedTokens;
  const failed = r.failed || r.statusCode >= 400;
  const api = r.apiKey || r.endpoint || r.provider || "unknown";
  return [
    api,
    r.model || "unknown",
    formatRfc3339Nano(toUtc(r.timestamp!)),
    r.source,
    r.authIndex,
    failed,
    t.inputTokens,
    t.outputTokens,
    t.reasoningTokens,
    t.cachedTokens,
    total,
  ].join("|");
}

describe("createRandom", () => {
  it("is deterministic for a seed, and forks are independent streams", () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const first = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(first);
    expect(Array.from({ length: 5 }, () => createRandom(43).next())).not.toEqual(first);
    const forkA = createRandom(42).fork("x");
    const forkB = createRandom(42).fork("y");
    expect(forkA.next()).not.toBe(forkB.next());
    for (const value of first) expect(value >= 0 && value < 1).toBe(true);
  });

  it("draws normals with mean ~0 and standard deviation ~1, log-normals around their median", () => {
    const random = createRandom(1);
    const values = Array.from({ length: 50_000 }, () => random.normal());
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(sd - 1)).toBeLessThan(0.02);
    const logNormals = Array.from({ length: 50_000 }, () => random.logNormal(300, 0.9));
    expect(Math.abs(median(logNormals) / 300 - 1)).toBeLessThan(0.03);
  });

  it("samples weights in proportion", () => {
    const random = createRandom(5);
    const sampler = weightedSampler([1, 0, 3, 6]);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 100_000; i++) counts[sampler.sample(random)]!++;
    expect(counts[1]).toBe(0);
    expect(Math.abs(counts[0]! / 100_000 - 0.1)).toBeLessThan(0.005);
    expect(Math.abs(counts[2]! / 100_000 - 0.3)).toBeLessThan(0.005);
    expect(Math.abs(counts[3]! / 100_000 - 0.6)).toBeLessThan(0.005);
    expect(sampler.probability(3)).toBe(0.6);
    expect(() => weightedSampler([0, 0])).toThrow(RangeError);
  });
});

describe("createRecordGenerator", () => {
  const records = generate(100_000);

  it("is deterministic: same seed, same records; another seed, other records", () => {
    expect(generate(200)).toEqual(records.slice(0, 200));
    expect(generate(200, 0, 1, 8)).not.toEqual(records.slice(0, 200));
  });

  it("stamps strictly increasing timestamps per node, unique across the fleet, in each node's own offset", () => {
    const nodes = 3;
    const perNode = [0, 1, 2].map((i) => generate(2000, i, nodes));
    const keys = new Set<string>();
    perNode.forEach((list, i) => {
      for (let k = 1; k < list.length; k++) expect(compareTimestamps(list[k - 1]!.timestamp!, list[k]!.timestamp!)).toBeLessThan(0);
      for (const r of list) {
        expect(r.timestamp!.offsetSeconds).toBe(NODE_OFFSETS[i]);
        keys.add(formatRfc3339Nano(toUtc(r.timestamp!)));
        expect(r.extra?.nodeId).toBe(`node-${i}`);
      }
    });
    expect(keys.size).toBe(3 * 2000);
    // node 1's k-th record is stamped start + (k*3 + 1) * step
    expect(perNode[1]![4]!.timestamp).toEqual({ ...addNanos(START, (4 * 3 + 1) * 1000), offsetSeconds: NODE_OFFSETS[1] });
  });

  it("never produces two records with the same dedup key", () => {
    expect(new Set(records.map(dedupKey)).size).toBe(records.length);
  });

  it("draws API keys Zipf-like: a few heavy users, a long tail", () => {
    const keys = fleetApiKeys(7, 200);
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.apiKey, (counts.get(r.apiKey) ?? 0) + 1);
    const weights = zipfWeights(200, 1.1);
    const total = weights.reduce((s, w) => s + w, 0);
    const keyed = records.filter((r) => r.apiKey !== "").length;
    // the heaviest user gets ~1/H share, the top 10 about half, and most keys appear
    expect(Math.abs((counts.get(keys[0]!) ?? 0) / keyed - weights[0]! / total)).toBeLessThan(0.01);
    const top10 = keys.slice(0, 10).reduce((s, k) => s + (counts.get(k) ?? 0), 0) / keyed;
    expect(top10).toBeGreaterThan(0.45);
    expect(top10).toBeLessThan(0.6);
    expect(counts.size).toBeGreaterThan(190);
  });

  it("leaves ~0.5% of records without an API key (the statistics key falls back to the route)", () => {
    expect(Math.abs(share(records, (r) => r.apiKey === "") - 0.005)).toBeLessThan(0.0015);
    for (const r of records.filter((x) => x.apiKey === "")) expect(r.endpoint).toMatch(/^POST \//);
  });

  it("draws models by weight, each with its provider", () => {
    const total = MODELS.reduce((s, m) => s + m.weight, 0);
    for (const profile of MODELS) {
      const observed = share(records, (r) => r.model === profile.model);
      expect(Math.abs(observed - profile.weight / total), profile.model).toBeLessThan(0.006);
    }
    const providerOf = new Map(MODELS.map((m) => [m.model, m.provider]));
    expect(records.filter((r) => providerOf.get(r.model) !== r.provider)).toEqual([]);
  });

  it("fails ~3% of calls with realistic statuses; successes are 200", () => {
    const failures = records.filter((r) => r.statusCode >= 400);
    expect(Math.abs(failures.length / records.length - 0.03)).toBeLessThan(0.003);
    expect(records.filter((r) => r.statusCode < 400).every((r) => r.statusCode === 200 && !r.failed)).toBe(true);
    const statuses = new Set(failures.map((r) => r.statusCode));
    expect([...statuses].sort()).toEqual(FAILURE_STATUSES.map((f) => f.status).sort());
    const share429 = share(failures, (r) => r.statusCode === 429);
    expect(share429).toBeGreaterThan(0.35);
    expect(share429).toBeLessThan(0.45);
    // some failures carry the flag, others only the status (the core resolves both)
    const flagged = share(failures, (r) => r.failed);
    expect(flagged).toBeGreaterThan(0.6);
    expect(flagged).toBeLessThan(0.8);
  });

  it("draws token counts log-normally, with reported and unreported totals", () => {
    expect(Math.abs(median(records.map((r) => r.tokens.inputTokens)) / 1400 - 1)).toBeLessThan(0.05);
    const gpt5 = records.filter((r) => r.model === "gpt-5" && r.statusCode === 200);
    expect(Math.abs(median(gpt5.map((r) => r.tokens.outputTokens)) / 420 - 1)).toBeLessThan(0.06);
    const odd = records.filter(({ tokens: t }) => {
      const totalOk = t.totalTokens === 0 || t.totalTokens === t.inputTokens + t.outputTokens + t.reasoningTokens;
      return t.inputTokens < 1 || t.cachedTokens > t.inputTokens || !totalOk;
    });
    expect(odd).toEqual([]);
    expect(share(records, (r) => r.tokens.totalTokens === 0)).toBeGreaterThan(0.03);
    expect(share(records, (r) => r.tokens.reasoningTokens > 0)).toBeGreaterThan(0.3);
    expect(share(records, (r) => r.tokens.cachedTokens > 0)).toBeGreaterThan(0.3);
  });

  it("draws latencies that grow with the output", () => {
    const latencies = records.map((r) => r.latencyMs);
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(20);
    const short = records.filter((r) => r.tokens.outputTokens < 100).map((r) => r.latencyMs);
    const long = records.filter((r) => r.tokens.outputTokens > 1000).map((r) => r.latencyMs);
    expect(median(long)).toBeGreaterThan(2 * median(short));
  });

  it("makes records the statistics core accepts as they are", () => {
    const statistics = new RequestStatistics();
    for (const r of records.slice(0, 5000)) expect(statistics.apply(r)).toBe("added");
    expect(statistics.totals().totalRequests).toBe(5000);
  });
});
