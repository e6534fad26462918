import { describe, expect, it } from "vitest";
import { RequestStatistics } from "@usage-ledger/statistics";
import type { DetailColumns } from "@usage-ledger/statistics";
import { detailsOf, knownUsageStream } from "../../test/support/usage-stream";
import {
  referenceCost,
  referenceDetails,
  referenceGroups,
  referenceRangeStart,
  referenceSince,
  referenceTotals,
} from "../../test/support/usage-reference";
import type { ReferencePrice } from "../../test/support/usage-reference";
import type { PriceTable } from "../prices/price-table";
import { InsightsFeed } from "./insights-feed";
import { overviewView, recentView, seriesView, tablesView } from "./insight-queries";
import { RANGE_NAMES } from "./time-range";
import { UsageInsights } from "./usage-insights";

const NOW = Date.UTC(2026, 5, 15, 12, 34, 56, 789);
const PRICES: ReadonlyMap<string, ReferencePrice> = new Map([
  ["gpt-5", { input: 1.25, output: 10, cachedInput: 0.125 }],
  ["claude-sonnet-4-5", { input: 3, output: 15, cachedInput: 0.3 }],
  ["gemini-2.5-pro", { input: 1.25, output: 10, cachedInput: 0.125, reasoning: 10 }],
]);
const TABLE: PriceTable = {
  asOf: "2026-06-01",
  source: "test",
  models: new Map([...PRICES].map(([name, price]) => [name, { ...price, reasoning: price.reasoning }])),
};

function feedOf(details: DetailColumns, nowMs = NOW): UsageInsights {
  const insights = new UsageInsights({ nowMillis: () => nowMs });
  insights.ingest(details);
  return insights;
}

const { details } = detailsOf(knownUsageStream({ nowMs: NOW, count: 4000, seed: 17 }));
const all = referenceDetails(details);

describe("UsageInsights against a detail-by-detail reference", () => {
  const insights = feedOf(details);

  it.each(RANGE_NAMES)("overview totals, range %s", (range) => {
    const expected = referenceTotals(referenceSince(all, referenceRangeStart(range, NOW)), PRICES);
    const view = overviewView(insights, TABLE, range);
    expect(view.totals).toMatchObject({
      requests: expected.requests,
      success: expected.requests - expected.failure,
      failure: expected.failure,
      tokens: {
        total: expected.tokens,
        input: expected.input,
        output: expected.output,
        cached: expected.cached,
        reasoning: expected.reasoning,
      },
      latency_samples: expected.latencySamples,
    });
    expect(view.totals.cost_usd).toBeCloseTo(expected.cost, 9);
    expect(view.totals.latency_ms_avg).toBeCloseTo(expected.latencySum / expected.latencySamples, 9);
    expect(view.models_without_price).toEqual(
      [...new Set(referenceSince(all, referenceRangeStart(range, NOW)).map((detail) => detail.model))]
        .filter((model) => !PRICES.has(model))
        .sort(),
    );
  });

  it("the ranges differ (the stream has details in every band)", () => {
    const counts = RANGE_NAMES.map((range) => overviewView(insights, TABLE, range).totals.requests);
    expect(new Set(counts).size).toBe(4);
    expect(counts[3]).toBe(details.count);
  });

  it("rates, sparklines and the health grid count the details of their windows", () => {
    const view = overviewView(insights, TABLE, "24h");
    const minute = Math.floor(NOW / 60_000) * 60_000;
    const rateDetails = referenceSince(all, minute - 29 * 60_000);
    expect(view.rates.requests).toBe(rateDetails.length);
    expect(view.rates.rpm).toBeCloseTo(rateDetails.length / 30, 12);
    expect(view.rates.tokens).toBe(referenceTotals(rateDetails, PRICES).tokens);
    const sparkDetails = referenceSince(all, minute - 59 * 60_000);
    expect(view.sparklines.requests).toHaveLength(60);
    expect(view.sparklines.requests.reduce((a, b) => a + b, 0)).toBe(sparkDetails.length);
    expect(view.sparklines.tokens.reduce((a, b) => a + b, 0)).toBe(referenceTotals(sparkDetails, PRICES).tokens);
    expect(view.sparklines.cost_usd.reduce((a, b) => a + b, 0)).toBeCloseTo(referenceTotals(sparkDetails, PRICES).cost, 9);
    // Each minute holds the details of that minute.
    const startMs = Date.parse(view.sparklines.start);
    view.sparklines.requests.forEach((count, index) => {
      const from = startMs + index * 60_000;
      expect(count).toBe(all.filter((d) => d.epochSeconds * 1000 >= from && d.epochSeconds * 1000 < from + 60_000).length);
    });
    const healthStart = Date.parse(view.health.start);
    expect(view.health.success).toHaveLength(672);
    const inGrid = referenceSince(all, healthStart);
    expect(view.health.success.reduce((a, b) => a + b, 0)).toBe(inGrid.filter((d) => !d.failed).length);
    expect(view.health.failure.reduce((a, b) => a + b, 0)).toBe(inGrid.filter((d) => d.failed).length);
  });

  it.each(RANGE_NAMES)("tables per API key, model and credential, range %s", (range) => {
    const inRange = referenceSince(all, referenceRangeStart(range, NOW));
    const view = tablesView(insights, TABLE, range);
    const apis = referenceGroups(inRange, (d) => d.api, PRICES);
    expect(view.total_apis).toBe(apis.size);
    for (const row of view.apis) {
      const expected = apis.get(row.api)!;
      expect({ requests: row.requests, failure: row.failure, tokens: row.tokens }).toEqual({
        requests: expected.requests,
        failure: expected.failure,
        tokens: expected.tokens,
      });
      expect(row.cost_usd).toBeCloseTo(expected.cost, 9);
      expect(row.models.reduce((sum, model) => sum + model.requests, 0)).toBe(expected.requests);
    }
    const models = referenceGroups(inRange, (d) => d.model, PRICES);
    expect(view.models.map((row) => [row.model, row.requests])).toEqual(
      [...models].sort((a, b) => b[1].requests - a[1].requests || (a[0] < b[0] ? -1 : 1)).map(([model, t]) => [model, t.requests]),
    );
    for (const row of view.models) {
      const expected = models.get(row.model)!;
      expect(row.latency_ms_avg).toBeCloseTo(expected.latencySum / expected.latencySamples, 9);
      expect(row.success_rate).toBeCloseTo((expected.requests - expected.failure) / expected.requests, 12);
    }
    const credentials = referenceGroups(inRange, (d) => `${d.source}|${d.authIndex}`, PRICES);
    expect(view.credentials.map((row) => [`${row.source}|${row.auth_index}`, row.requests, row.failure]).sort()).toEqual(
      [...credentials].map(([key, t]) => [key, t.requests, t.failure]).sort(),
    );
  });

  it.each([
    ["7h", "hour"],
    ["24h", "hour"],
    ["7d", "hour"],
    ["7d", "day"],
    ["all", "day"],
  ] as const)("series %s by %s add up to the range and keep each detail in its bucket", (range, granularity) => {
    const view = seriesView(insights, TABLE, { range, granularity, utcOffsetMinutes: 120, models: undefined });
    const inRange = referenceSince(all, referenceRangeStart(range, NOW));
    const expected = referenceTotals(inRange, PRICES);
    const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
    expect(view.truncated).toBe(false);
    expect(sum(view.requests)).toBe(expected.requests);
    expect(sum(view.failures)).toBe(expected.failure);
    expect(sum(view.tokens.total)).toBe(expected.tokens);
    expect(sum(view.tokens.cached)).toBe(expected.cached);
    expect(sum(view.tokens.output)).toBe(expected.output);
    expect(sum(view.tokens.reasoning)).toBe(expected.reasoning);
    expect(sum(view.cost_usd)).toBeCloseTo(expected.cost, 9);
    const starts = view.buckets.map((text) => Date.parse(text));
    const width = granularity === "hour" ? 3_600_000 : 86_400_000;
    starts.forEach((start, index) => {
      const within = inRange.filter((d) => {
        const hourStart = Math.floor(d.epochSeconds / 3600) * 3_600_000;
        return hourStart >= start && hourStart < start + width;
      });
      expect(view.requests[index]).toBe(within.length);
    });
    if (granularity === "day") expect(new Date(starts[0]! + 120 * 60_000).getUTCHours()).toBe(0);
    expect(view.models.length).toBeLessThanOrEqual(8);
    for (const line of view.models) expect(sum(line.requests)).toBe(inRange.filter((d) => d.model === line.model).length);
  });

  it("series with chosen models draws those", () => {
    const view = seriesView(insights, TABLE, {
      range: "all",
      granularity: "day",
      utcOffsetMinutes: 0,
      models: ["qwen3-coder-plus", "nope"],
    });
    expect(view.models.map((line) => line.model)).toEqual(["qwen3-coder-plus"]);
  });

  it("recent requests: the latest by timestamp, filtered and paged", () => {
    const small = new UsageInsights({ nowMillis: () => NOW, recentCapacity: 300 });
    // Arrival order must not matter: feed the details in reverse.
    const reversed = referenceDetails(details).reverse();
    const statistics = new RequestStatistics();
    for (const d of reversed) {
      statistics.apply({
        timestamp: { epochSeconds: d.epochSeconds, nanos: d.nanos, offsetSeconds: 0 },
        apiKey: d.api,
        model: d.model,
        provider: "",
        endpoint: "",
        source: d.source,
        authIndex: d.authIndex,
        authId: "",
        authType: "",
        failed: d.failed,
        statusCode: 0,
        latencyMs: d.latencyMs,
        tokens: {
          inputTokens: d.input,
          outputTokens: d.output,
          reasoningTokens: d.reasoning,
          cachedTokens: d.cached,
          totalTokens: d.total,
        },
      });
    }
    small.ingest(statistics.exportDetails());
    const latest = [...all].sort((a, b) => b.epochSeconds - a.epochSeconds || b.nanos - a.nanos).slice(0, 300);
    const view = recentView(small, TABLE, {
      range: "all",
      api: undefined,
      model: "gpt-5",
      source: undefined,
      status: undefined,
      offset: 5,
      limit: 10,
    });
    const expected = latest.filter((d) => d.model === "gpt-5");
    expect(view.held).toBe(300);
    expect(view.matching).toBe(expected.length);
    expect(view.rows.map((row) => Date.parse(row.timestamp))).toEqual(expected.slice(5, 15).map((d) => d.epochMs));
    for (const [index, row] of view.rows.entries())
      expect(row.cost_usd).toBeCloseTo(referenceCost(expected[5 + index]!, PRICES.get("gpt-5")), 12);
    const failed = recentView(small, TABLE, {
      range: "7h",
      api: undefined,
      model: undefined,
      source: undefined,
      status: "failed",
      offset: 0,
      limit: 500,
    });
    const start = referenceRangeStart("7h", NOW);
    expect(failed.matching).toBe(latest.filter((d) => d.failed && d.epochSeconds * 1000 >= start).length);
    expect(failed.filters.models.length).toBeGreaterThan(0);
    const unknown = recentView(small, TABLE, {
      range: "all",
      api: "no such key",
      model: undefined,
      source: undefined,
      status: undefined,
      offset: 0,
      limit: 5,
    });
    expect(unknown.matching).toBe(0);
  });
});

describe("InsightsFeed", () => {
  it("catches up incrementally: the same aggregates as one ingest of everything", async () => {
    const records = knownUsageStream({ nowMs: NOW, count: 3000, seed: 5 });
    const statistics = new RequestStatistics();
    const feed = new InsightsFeed({ source: () => statistics, nowMillis: () => NOW, chunkRows: 97 });
    for (let from = 0; from < records.length; from += 700) {
      for (const record of records.slice(from, from + 700)) statistics.apply(record);
      feed.catchUp(250); // less than was added: the rest drains in the background
    }
    await feed.caughtUp();
    expect(feed.pending()).toBe(0);
    expect(feed.ingested()).toBe(statistics.detailCount);
    const reference = feedOf(statistics.exportDetails());
    for (const range of RANGE_NAMES) {
      expect(overviewView(feed.insights(), TABLE, range)).toEqual(overviewView(reference, TABLE, range));
      expect(tablesView(feed.insights(), TABLE, range)).toEqual(tablesView(reference, TABLE, range));
    }
  });

  it("rebuilds from the first row when the source is replaced", async () => {
    const first = detailsOf(knownUsageStream({ nowMs: NOW, count: 500, seed: 1 })).statistics;
    const second = detailsOf(knownUsageStream({ nowMs: NOW, count: 200, seed: 2 })).statistics;
    let source = first;
    const feed = new InsightsFeed({ source: () => source, nowMillis: () => NOW });
    expect(overviewView(feed.insights(), TABLE, "all").totals.requests).toBe(500);
    source = second;
    await feed.caughtUp();
    expect(overviewView(feed.insights(), TABLE, "all").totals.requests).toBe(200);
  });
});
