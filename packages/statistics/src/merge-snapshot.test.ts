import { describe, expect, it } from "vitest";
import { parseStatisticsSnapshot } from "./import-parse";
import { RequestStatistics } from "./request-statistics";
import type { StatisticsSnapshot } from "./snapshot-types";
import { counterClock, usageRecord } from "../test/support/records";

// An import with every MergeSnapshot edge case: blank API names ("  " and ""), a blank model (""),
// names to trim, a negative total, a zero total to normalise, duplicates inside one snapshot (one
// with another latency, one with the same instant in another offset), an API without models, a zero
// timestamp, and snapshot-level totals and buckets that must be ignored.
const EDGE_SNAPSHOT = {
  total_requests: 999,
  success_count: 999,
  failure_count: 0,
  total_tokens: 123456,
  apis: {
    "  ": { total_requests: 1, models: { m: { details: [{ timestamp: "2026-01-10T10:00:00Z", tokens: { total_tokens: 1 } }] } } },
    "": { models: { m: { details: [{ timestamp: "2026-01-10T10:00:00Z", tokens: { total_tokens: 2 } }] } } },
    " sk-a ": {
      total_requests: 7,
      total_tokens: 7,
      models: {
        "": {
          total_requests: 1,
          total_tokens: -50,
          details: [
            {
              timestamp: "2026-01-10T23:30:00.1-05:00",
              latency_ms: 5,
              source: "alice",
              auth_index: "1",
              tokens: { input_tokens: 10, output_tokens: 0, reasoning_tokens: 0, cached_tokens: 0, total_tokens: -50 },
              failed: false,
            },
          ],
        },
        " gpt-4o ": {
          details: [
            {
              timestamp: "2026-01-11T04:30:00.1Z",
              latency_ms: 1,
              source: "alice",
              auth_index: "1",
              tokens: { input_tokens: 100, output_tokens: 30, reasoning_tokens: 12, cached_tokens: 5, total_tokens: 0 },
              failed: true,
            },
            {
              timestamp: "2026-01-11T04:30:00.1Z",
              latency_ms: 99,
              source: "alice",
              auth_index: "1",
              tokens: { input_tokens: 100, output_tokens: 30, reasoning_tokens: 12, cached_tokens: 5, total_tokens: 142 },
              failed: true,
            },
            {
              timestamp: "2026-01-11T12:30:00.100+08:00",
              latency_ms: 7,
              source: "alice",
              auth_index: "1",
              tokens: { input_tokens: 100, output_tokens: 30, reasoning_tokens: 12, cached_tokens: 5, total_tokens: 0 },
              failed: true,
            },
            {
              timestamp: "2026-01-11T04:30:00.1Z",
              latency_ms: 1,
              source: "alice",
              auth_index: "1",
              tokens: { input_tokens: 100, output_tokens: 30, reasoning_tokens: 12, cached_tokens: 5, total_tokens: 0 },
              failed: false,
            },
          ],
        },
      },
    },
    "sk-b": { models: {} },
    "sk-c": {
      models: {
        m: {
          details: [
            {
              timestamp: "0001-01-01T00:00:00Z",
              latency_ms: 3,
              tokens: { input_tokens: 0, output_tokens: 0, reasoning_tokens: 0, cached_tokens: 4, total_tokens: 0 },
            },
          ],
        },
      },
    },
  },
  requests_by_day: { "1999-01-01": 5 },
};

// The Go seed's MergeSnapshot result and json.Marshal(Snapshot()) after merging EDGE_SNAPSHOT once
// into an empty store, then once more (the zero timestamp takes a new "now" each time: added again).
const AFTER_FIRST_MERGE =
  '{"total_requests":4,"success_count":3,"failure_count":1,"total_tokens":288,"apis":{"sk-a":{"total_requests":3,"total_tokens":234,"models":{"gpt-4o":{"total_requests":2,"total_tokens":284,"details":[{"timestamp":"2026-01-11T04:30:00.1Z","latency_ms":1,"source":"alice","auth_index":"1","tokens":{"input_tokens":100,"output_tokens":30,"reasoning_tokens":12,"cached_tokens":5,"total_tokens":142},"failed":true},{"timestamp":"2026-01-11T04:30:00.1Z","latency_ms":1,"source":"alice","auth_index":"1","tokens":{"input_tokens":100,"output_tokens":30,"reasoning_tokens":12,"cached_tokens":5,"total_tokens":142},"failed":false}]},"unknown":{"total_requests":1,"total_tokens":-50,"details":[{"timestamp":"2026-01-10T23:30:00.1-05:00","latency_ms":5,"source":"alice","auth_index":"1","tokens":{"input_tokens":10,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":-50},"failed":false}]}}},"sk-b":{"total_requests":0,"total_tokens":0,"models":{}},"sk-c":{"total_requests":1,"total_tokens":4,"models":{"m":{"total_requests":1,"total_tokens":4,"details":[{"timestamp":"2026-01-01T00:00:00.000000001Z","latency_ms":3,"source":"","auth_index":"","tokens":{"input_tokens":0,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":4,"total_tokens":4},"failed":false}]}}}},"requests_by_day":{"2026-01-01":1,"2026-01-10":1,"2026-01-11":2},"requests_by_hour":{"00":1,"04":2,"23":1},"tokens_by_day":{"2026-01-01":4,"2026-01-10":0,"2026-01-11":284},"tokens_by_hour":{"00":4,"04":284,"23":0}}';
const AFTER_SECOND_MERGE =
  '{"total_requests":5,"success_count":4,"failure_count":1,"total_tokens":292,"apis":{"sk-a":{"total_requests":3,"total_tokens":234,"models":{"gpt-4o":{"total_requests":2,"total_tokens":284,"details":[{"timestamp":"2026-01-11T04:30:00.1Z","latency_ms":1,"source":"alice","auth_index":"1","tokens":{"input_tokens":100,"output_tokens":30,"reasoning_tokens":12,"cached_tokens":5,"total_tokens":142},"failed":true},{"timestamp":"2026-01-11T04:30:00.1Z","latency_ms":1,"source":"alice","auth_index":"1","tokens":{"input_tokens":100,"output_tokens":30,"reasoning_tokens":12,"cached_tokens":5,"total_tokens":142},"failed":false}]},"unknown":{"total_requests":1,"total_tokens":-50,"details":[{"timestamp":"2026-01-10T23:30:00.1-05:00","latency_ms":5,"source":"alice","auth_index":"1","tokens":{"input_tokens":10,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":-50},"failed":false}]}}},"sk-b":{"total_requests":0,"total_tokens":0,"models":{}},"sk-c":{"total_requests":2,"total_tokens":8,"models":{"m":{"total_requests":2,"total_tokens":8,"details":[{"timestamp":"2026-01-01T00:00:00.000000001Z","latency_ms":3,"source":"","auth_index":"","tokens":{"input_tokens":0,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":4,"total_tokens":4},"failed":false},{"timestamp":"2026-01-01T00:00:00.000000002Z","latency_ms":3,"source":"","auth_index":"","tokens":{"input_tokens":0,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":4,"total_tokens":4},"failed":false}]}}}},"requests_by_day":{"2026-01-01":2,"2026-01-10":1,"2026-01-11":2},"requests_by_hour":{"00":2,"04":2,"23":1},"tokens_by_day":{"2026-01-01":8,"2026-01-10":0,"2026-01-11":284},"tokens_by_hour":{"00":8,"04":284,"23":0}}';

describe("RequestStatistics.mergeSnapshot (the seed's MergeSnapshot)", () => {
  it("handles every edge case exactly as the Go seed", () => {
    const statistics = new RequestStatistics({ clock: counterClock() });
    // Blank APIs: neither added nor skipped. sk-a: 3 added, 2 duplicates skipped. sk-c: 1 added.
    expect(statistics.mergeSnapshot(EDGE_SNAPSHOT as unknown as StatisticsSnapshot)).toEqual({ added: 4, skipped: 2 });
    expect(statistics.snapshotJson()).toBe(AFTER_FIRST_MERGE);
    expect(statistics.mergeSnapshot(EDGE_SNAPSHOT as unknown as StatisticsSnapshot)).toEqual({ added: 1, skipped: 5 });
    expect(statistics.snapshotJson()).toBe(AFTER_SECOND_MERGE);
  });

  it("takes a parsed snapshot the same way", () => {
    const statistics = new RequestStatistics({ clock: counterClock() });
    expect(statistics.mergeSnapshot(parseStatisticsSnapshot(EDGE_SNAPSHOT))).toEqual({ added: 4, skipped: 2 });
    expect(statistics.snapshotJson()).toBe(AFTER_FIRST_MERGE);
  });

  it("skips a detail already in the store, whichever way it came in", () => {
    const statistics = new RequestStatistics();
    statistics.record(
      usageRecord({ apiKey: "k", model: "m", timestamp: "2026-01-10T10:00:00.5+01:00", latencyMs: 4, tokens: { inputTokens: 2 } }),
    );
    const incoming = {
      apis: {
        k: {
          models: {
            m: {
              details: [
                // The same instant in UTC, another latency: the same dedup key.
                { timestamp: "2026-01-10T09:00:00.500Z", latency_ms: 77, tokens: { input_tokens: 2, total_tokens: 2 } },
                { timestamp: "2026-01-10T09:00:00.500000001Z", tokens: { input_tokens: 2 } },
              ],
            },
          },
        },
      },
    } as unknown as StatisticsSnapshot;
    expect(statistics.mergeSnapshot(incoming)).toEqual({ added: 1, skipped: 1 });
    expect(statistics.snapshot().apis.k?.models.m?.details.map((d) => [d.timestamp, d.latency_ms])).toEqual([
      ["2026-01-10T10:00:00.5+01:00", 4],
      ["2026-01-10T09:00:00.500000001Z", 0],
    ]);
  });

  it("refuses an invalid snapshot object with STATS_INVALID_JSON and changes nothing", () => {
    const statistics = new RequestStatistics();
    const bad = { apis: { k: { models: { m: { details: [{ timestamp: "yesterday" }] } } } } } as unknown as StatisticsSnapshot;
    expect(() => statistics.mergeSnapshot(bad)).toThrowError(expect.objectContaining({ code: "STATS_INVALID_JSON", retryable: false }));
    expect(statistics.apiNames()).toEqual([]);
  });

  it("round-trips a snapshot with API names that JSON objects reorder and with __proto__", () => {
    const source = new RequestStatistics();
    for (const apiKey of ["__proto__", "10", "9", "z", "\ud83d\ude00"]) {
      source.apply(usageRecord({ apiKey, model: apiKey, timestamp: "2026-01-10T10:00:00Z", tokens: { inputTokens: 1 } }));
    }
    const copy = new RequestStatistics();
    expect(copy.mergeSnapshot(JSON.parse(source.snapshotJson()) as StatisticsSnapshot)).toEqual({ added: 5, skipped: 0 });
    expect(copy.snapshotJson()).toBe(source.snapshotJson());
    expect(copy.mergeSnapshot(source.snapshot())).toEqual({ added: 0, skipped: 5 });
  });
});
