import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RequestStatistics } from "./request-statistics";
import { formatGoRfc3339Nano, formatRfc3339Nano } from "./rfc3339";
import type { RequestDetailJson, StatisticsSnapshot } from "./snapshot-types";
import { counterClock } from "../test/support/records";
import { normaliseTotal } from "./tokens";
import type { Timestamp } from "./timestamp";
import type { UsageRecord } from "./usage-record";

/*
 * Invariants of the store, over random inputs drawn from small alphabets so that keys collide,
 * days and hours straddle midnight in several offsets, and `|` appears in names.
 */

const API_NAMES = ["k1", "k2", "a|b", "\u00fc<&>"];
const MODELS = ["m1", "m2", "x|y", "unknown"];
const SOURCES = ["", "s1", "s|2"];
const AUTHS = ["", "0", "1"];
const OFFSETS = [-18000, 0, 19800, 28800, 50400];

const timestampArb: fc.Arbitrary<Timestamp> = fc.record({
  // Three days around midnight boundaries, with a few distinct nanoseconds per second.
  epochSeconds: fc.integer({ min: 1_768_003_200 - 7200, max: 1_768_003_200 + 7200 }).map((s) => s - (s % 900)),
  nanos: fc.constantFrom(0, 1, 500_000_000, 999_999_999),
  offsetSeconds: fc.constantFrom(...OFFSETS),
});

const tokensArb = (min: number) =>
  fc.record({
    inputTokens: fc.integer({ min, max: 50 }),
    outputTokens: fc.integer({ min, max: 50 }),
    reasoningTokens: fc.constantFrom(0, 0, 3),
    cachedTokens: fc.constantFrom(0, 7),
    totalTokens: fc.constantFrom(0, 0, 100, min < 0 ? -40 : 40),
  });

const recordArb = (minTokens: number): fc.Arbitrary<UsageRecord> =>
  fc.record({
    timestamp: timestampArb,
    apiKey: fc.constantFrom(...API_NAMES),
    model: fc.constantFrom(...MODELS),
    provider: fc.constant(""),
    endpoint: fc.constant(""),
    source: fc.constantFrom(...SOURCES),
    authIndex: fc.constantFrom(...AUTHS),
    authId: fc.constant(""),
    authType: fc.constant(""),
    failed: fc.boolean(),
    statusCode: fc.constantFrom(0, 200, 500),
    latencyMs: fc.integer({ min: 0, max: 3 }),
    tokens: tokensArb(minTokens),
  });

/** The seed's dedup key of a record applied as a merge (names here need no trimming). */
function seedKey(record: UsageRecord): string {
  const t = record.tokens;
  const total = normaliseTotal(t.inputTokens, t.outputTokens, t.reasoningTokens, t.cachedTokens, t.totalTokens);
  const utc = formatGoRfc3339Nano({ ...record.timestamp!, offsetSeconds: 0 });
  const failed = record.failed || record.statusCode >= 400;
  return `${record.apiKey}|${record.model}|${utc}|${record.source}|${record.authIndex}|${failed}|${t.inputTokens}|${t.outputTokens}|${t.reasoningTokens}|${t.cachedTokens}|${total}`;
}

/** Records with pairwise distinct dedup keys (the first of each key kept). */
function distinct(records: UsageRecord[]): UsageRecord[] {
  const seen = new Map<string, UsageRecord>();
  for (const record of records) if (!seen.has(seedKey(record))) seen.set(seedKey(record), record);
  return [...seen.values()];
}

/** A snapshot with each model's details sorted: equal iff equal up to insertion order. */
function normalised(snapshot: StatisticsSnapshot): StatisticsSnapshot {
  const copy = JSON.parse(JSON.stringify(snapshot)) as StatisticsSnapshot;
  for (const api of Object.values(copy.apis)) {
    for (const model of Object.values(api.models)) {
      model.details.sort((a: RequestDetailJson, b: RequestDetailJson) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    }
  }
  return copy;
}

/** A snapshot (JSON shape) holding `records` as details, names optionally padded with spaces. */
function snapshotOf(records: UsageRecord[], pad: boolean): StatisticsSnapshot {
  const apis: Record<string, { models: Record<string, { details: unknown[] }> }> = {};
  for (const r of records) {
    const apiName = pad ? ` ${r.apiKey}  ` : r.apiKey;
    const modelName = pad ? `\t${r.model}` : r.model;
    const models = (apis[apiName] ??= { models: {} }).models;
    (models[modelName] ??= { details: [] }).details.push({
      timestamp: formatRfc3339Nano(r.timestamp!),
      latency_ms: r.latencyMs,
      source: r.source,
      auth_index: r.authIndex,
      tokens: {
        input_tokens: r.tokens.inputTokens,
        output_tokens: r.tokens.outputTokens,
        reasoning_tokens: r.tokens.reasoningTokens,
        cached_tokens: r.tokens.cachedTokens,
        total_tokens: r.tokens.totalTokens,
      },
      failed: r.failed || r.statusCode >= 400,
    });
  }
  return { total_requests: 0, success_count: 0, failure_count: 0, total_tokens: 0, apis } as unknown as StatisticsSnapshot;
}

describe("store invariants (fast-check)", () => {
  it("merging a snapshot a second time adds nothing and changes nothing", () => {
    fc.assert(
      fc.property(fc.array(recordArb(-50), { maxLength: 60 }), fc.boolean(), (records, pad) => {
        const statistics = new RequestStatistics();
        const snapshot = snapshotOf(records, pad);
        const first = statistics.mergeSnapshot(snapshot);
        expect(first.added + first.skipped).toBe(records.length);
        expect(first.added).toBe(distinct(records).length);
        const before = statistics.snapshotJson();
        expect(statistics.mergeSnapshot(snapshot)).toEqual({ added: 0, skipped: records.length });
        expect(statistics.snapshotJson()).toBe(before);
      }),
      { numRuns: 200 },
    );
  });

  it("the merge order of several snapshots does not change the result", () => {
    // Records with distinct keys, so a detail's latency and offset are functions of its key.
    const snapshotsArb = fc
      .array(recordArb(-50), { minLength: 1, maxLength: 40 })
      .map(distinct)
      .chain((pool) =>
        fc.tuple(fc.array(fc.tuple(fc.subarray(pool), fc.boolean()), { minLength: 2, maxLength: 4 }), fc.func(fc.integer())),
      );
    fc.assert(
      fc.property(snapshotsArb, ([parts, order]) => {
        const snapshots = parts.map(([records, pad]) => snapshotOf(records, pad));
        const inOrder = new RequestStatistics();
        const forward = snapshots.map((s) => inOrder.mergeSnapshot(s));
        const permuted = snapshots
          .map((s, i) => ({ s, k: order(i) }))
          .sort((a, b) => a.k - b.k)
          .map(({ s }) => s);
        const other = new RequestStatistics();
        const backward = permuted.map((s) => other.mergeSnapshot(s));
        const sum = (results: { added: number; skipped: number }[]) =>
          results.reduce((acc, r) => ({ added: acc.added + r.added, skipped: acc.skipped + r.skipped }), { added: 0, skipped: 0 });
        expect(sum(backward)).toEqual(sum(forward));
        expect(normalised(other.snapshot())).toEqual(normalised(inOrder.snapshot()));
      }),
      { numRuns: 200 },
    );
  });

  it("snapshot() -> mergeSnapshot into an empty store -> snapshot() is identical (and so is exportDetails -> mergeDetails)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(recordArb(-50), fc.boolean()), { maxLength: 60 }), (inputs) => {
        const source = new RequestStatistics({ clock: counterClock() });
        for (const [record, dropTimestamp] of inputs) source.apply(dropTimestamp ? { ...record, timestamp: undefined } : record);
        const json = source.snapshotJson();
        expect(JSON.parse(json)).toEqual(source.snapshot());
        const viaSnapshot = new RequestStatistics();
        viaSnapshot.mergeSnapshot(source.snapshot());
        expect(viaSnapshot.snapshotJson()).toBe(json);
        const viaText = new RequestStatistics();
        viaText.mergeSnapshot(JSON.parse(json) as StatisticsSnapshot);
        expect(viaText.snapshotJson()).toBe(json);
        const viaColumns = new RequestStatistics();
        viaColumns.mergeDetails(source.exportDetails());
        expect(viaColumns.snapshotJson()).toBe(json);
      }),
      { numRuns: 200 },
    );
  });

  it("applying N records in any order with re-deliveries equals recording the N distinct ones", () => {
    const runArb = fc
      .array(recordArb(0), { minLength: 1, maxLength: 50 })
      .map(distinct)
      .chain((records) =>
        fc.tuple(
          fc.constant(records),
          fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length }),
          fc.array(fc.tuple(fc.nat({ max: records.length - 1 }), fc.nat()), { maxLength: 30 }),
        ),
      );
    fc.assert(
      fc.property(runArb, ([records, permutation, redeliveries]) => {
        const deliveries = [...permutation];
        for (const [which, at] of redeliveries) deliveries.splice(at % (deliveries.length + 1), 0, records[which]!);
        const applied = new RequestStatistics();
        const results = deliveries.map((record) => applied.apply(record));
        expect(results.filter((r) => r === "added").length).toBe(records.length);
        expect(results.filter((r) => r === "duplicate").length).toBe(redeliveries.length);
        const recorded = new RequestStatistics();
        for (const record of records) recorded.record(record);
        expect(normalised(applied.snapshot())).toEqual(normalised(recorded.snapshot()));
        expect(applied.totals()).toEqual(recorded.totals());
      }),
      { numRuns: 200 },
    );
  });

  it("applyBatch gives each record the result apply gives it, and the same store", () => {
    const withBlanks = fc.oneof(
      recordArb(-50),
      recordArb(-50).map((record) => ({ ...record, apiKey: "  ", provider: "" })),
      recordArb(-50).map((record) => ({ ...record, apiKey: ` ${record.apiKey}`, model: "" })),
    );
    fc.assert(
      fc.property(fc.array(withBlanks, { maxLength: 400 }), fc.nat({ max: 300 }), (records, split) => {
        const one = new RequestStatistics({ clock: counterClock() });
        const expected = records.map((record) => one.apply(record));
        const batched = new RequestStatistics({ clock: counterClock() });
        const results = [...batched.applyBatch(records.slice(0, split)), ...batched.applyBatch(records.slice(split))];
        expect(results).toEqual(expected);
        expect(batched.snapshotJson()).toBe(one.snapshotJson());
      }),
      { numRuns: 100 },
    );
  });
});
