import { describe, expect, it } from "vitest";
import { isStatisticsError } from "./errors";
import { RequestStatistics } from "./request-statistics";
import { parseRfc3339 } from "./rfc3339";
import type { StatisticsSnapshot } from "./snapshot-types";
import { counterClock, usageRecord } from "../test/support/records";

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isStatisticsError(error) ? error.code : String(error);
  }
  return undefined;
}

const EMPTY_JSON =
  '{"total_requests":0,"success_count":0,"failure_count":0,"total_tokens":0,"apis":{},"requests_by_day":{},"requests_by_hour":{},"tokens_by_day":{},"tokens_by_hour":{}}';

// Produced by the Go seed (logger_plugin.go with latency_ms, encoding/json) for the same six records.
const RECORD_SCENARIO_JSON =
  '{"total_requests":6,"success_count":4,"failure_count":2,"total_tokens":329,"apis":{" sk-b ":{"total_requests":1,"total_tokens":3,"models":{"\\u003cm\\u0026m\\u003e":{"total_requests":1,"total_tokens":3,"details":[{"timestamp":"2026-01-10T23:59:59.999999999Z","latency_ms":0,"source":"bob","auth_index":"","tokens":{"input_tokens":1,"output_tokens":2,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":3},"failed":false}]}}},"POST /v1/chat/completions":{"total_requests":1,"total_tokens":7,"models":{"unknown":{"total_requests":1,"total_tokens":7,"details":[{"timestamp":"2026-01-11T00:15:00.5+08:00","latency_ms":0,"source":"","auth_index":"","tokens":{"input_tokens":0,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":7,"total_tokens":7},"failed":true}]}}},"gemini":{"total_requests":1,"total_tokens":40,"models":{"gemini-pro":{"total_requests":1,"total_tokens":40,"details":[{"timestamp":"2026-01-01T00:00:00.000000001Z","latency_ms":20,"source":"","auth_index":"","tokens":{"input_tokens":10,"output_tokens":20,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":40},"failed":true}]}}},"sk-a":{"total_requests":2,"total_tokens":284,"models":{"gpt-4o":{"total_requests":2,"total_tokens":284,"details":[{"timestamp":"2026-01-10T23:30:00.123456789-05:00","latency_ms":1500,"source":"alice@example.com","auth_index":"0","tokens":{"input_tokens":100,"output_tokens":30,"reasoning_tokens":12,"cached_tokens":5,"total_tokens":142},"failed":false},{"timestamp":"2026-01-10T23:30:00.123456789-05:00","latency_ms":1500,"source":"alice@example.com","auth_index":"0","tokens":{"input_tokens":100,"output_tokens":30,"reasoning_tokens":12,"cached_tokens":5,"total_tokens":142},"failed":false}]}}},"unknown":{"total_requests":1,"total_tokens":-5,"models":{"unknown":{"total_requests":1,"total_tokens":-5,"details":[{"timestamp":"2026-01-10T16:15:00.12Z","latency_ms":7,"source":"","auth_index":"","tokens":{"input_tokens":3,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":-5},"failed":false}]}}}},"requests_by_day":{"2026-01-01":1,"2026-01-10":4,"2026-01-11":1},"requests_by_hour":{"00":2,"16":1,"23":3},"tokens_by_day":{"2026-01-01":40,"2026-01-10":282,"2026-01-11":7},"tokens_by_hour":{"00":47,"16":-5,"23":287}}';

const SK_A_RECORD = usageRecord({
  apiKey: "sk-a",
  model: "gpt-4o",
  source: "alice@example.com",
  authIndex: "0",
  statusCode: 200,
  latencyMs: 1500,
  timestamp: "2026-01-10T23:30:00.123456789-05:00",
  tokens: { inputTokens: 100, outputTokens: 30, reasoningTokens: 12, cachedTokens: 5 },
});

function recordScenario(statistics: RequestStatistics): void {
  // Total 0 -> input + output + reasoning = 142 (cached not added while that is non-zero).
  statistics.record(SK_A_RECORD);
  // No API key: the endpoint is the key (before the provider); status 502 -> failed; total 0 and
  // input+output+reasoning 0 -> + cached = 7; model "" -> unknown; 00:15+08:00 is day 11 hour 00.
  statistics.record(
    usageRecord({
      endpoint: "POST /v1/chat/completions",
      provider: "openai",
      statusCode: 502,
      timestamp: "2026-01-11T00:15:00.5+08:00",
      tokens: { cachedTokens: 7 },
    }),
  );
  // No key, no endpoint: the provider; no timestamp -> the clock; a non-zero total is kept.
  statistics.record(
    usageRecord({
      provider: "gemini",
      model: "gemini-pro",
      failed: true,
      latencyMs: 20,
      tokens: { inputTokens: 10, outputTokens: 20, totalTokens: 40 },
    }),
  );
  // Nothing -> "unknown"; a negative total is kept raw everywhere by Record.
  statistics.record(usageRecord({ latencyMs: 7, timestamp: "2026-01-10T16:15:00.120Z", tokens: { inputTokens: 3, totalTokens: -5 } }));
  // Record does not dedup.
  statistics.record(SK_A_RECORD);
  // Record does not trim the key; HTML characters are escaped in JSON; status 399 is a success.
  statistics.record(
    usageRecord({
      apiKey: " sk-b ",
      model: "<m&m>",
      source: "bob",
      statusCode: 399,
      timestamp: "2026-01-10T23:59:59.999999999Z",
      tokens: { inputTokens: 1, outputTokens: 2 },
    }),
  );
}

describe("RequestStatistics.record (the seed's Record)", () => {
  it("starts empty, with Go's empty maps", () => {
    const statistics = new RequestStatistics();
    expect(statistics.snapshotJson()).toBe(EMPTY_JSON);
    expect(statistics.snapshot()).toEqual(JSON.parse(EMPTY_JSON));
    expect(statistics.detailCount).toBe(0);
  });

  it("matches the Go seed's snapshot byte for byte", () => {
    const statistics = new RequestStatistics({ clock: counterClock() });
    recordScenario(statistics);
    expect(statistics.snapshotJson()).toBe(RECORD_SCENARIO_JSON);
    expect(statistics.snapshot()).toEqual(JSON.parse(RECORD_SCENARIO_JSON));
    expect(statistics.totals()).toEqual({ totalRequests: 6, successCount: 4, failureCount: 2, totalTokens: 329 });
    expect(statistics.detailCount).toBe(6);
  });

  it("takes the clock for Go's zero time", () => {
    const statistics = new RequestStatistics({ clock: counterClock() });
    statistics.record(usageRecord({ apiKey: "k", timestamp: "0001-01-01T00:00:00Z" }));
    statistics.record(usageRecord({ apiKey: "k", timestamp: "0001-01-01T08:00:00+08:00" }));
    const details = statistics.snapshot().apis.k?.models.unknown?.details.map((d) => d.timestamp);
    expect(details).toEqual(["2026-01-01T00:00:00.000000001Z", "2026-01-01T00:00:00.000000002Z"]);
  });

  it("refuses malformed records with a coded error and stays unchanged", () => {
    const statistics = new RequestStatistics();
    expect(codeOf(() => statistics.record(usageRecord({ tokens: { inputTokens: 1.5 } })))).toBe("STATS_INVALID_RECORD");
    expect(codeOf(() => statistics.record(usageRecord({ latencyMs: Number.NaN })))).toBe("STATS_INVALID_RECORD");
    expect(codeOf(() => statistics.record(usageRecord({ tokens: { inputTokens: 2 ** 53 } })))).toBe("STATS_INVALID_RECORD");
    expect(codeOf(() => statistics.record({ ...usageRecord(), apiKey: 5 as unknown as string }))).toBe("STATS_INVALID_RECORD");
    expect(codeOf(() => statistics.record(usageRecord({ timestamp: { epochSeconds: 0, nanos: 1e9, offsetSeconds: 0 } })))).toBe(
      "STATS_INVALID_TIMESTAMP",
    );
    expect(codeOf(() => statistics.record(usageRecord({ timestamp: { epochSeconds: 253402300800, nanos: 0, offsetSeconds: 0 } })))).toBe(
      "STATS_INVALID_TIMESTAMP",
    );
    expect(statistics.snapshotJson()).toBe(EMPTY_JSON);
  });
});

describe("RequestStatistics.apply (a one-detail MergeSnapshot)", () => {
  it("adds, then reports a re-delivery as a duplicate without counting it", () => {
    const statistics = new RequestStatistics();
    expect(statistics.apply(SK_A_RECORD)).toBe("added");
    expect(statistics.apply(SK_A_RECORD)).toBe("duplicate");
    expect(statistics.totals()).toEqual({ totalRequests: 1, successCount: 1, failureCount: 0, totalTokens: 142 });
  });

  it("ignores a blank statistics key after trimming, counting nothing", () => {
    const statistics = new RequestStatistics();
    expect(statistics.apply(usageRecord({ apiKey: " \t\u3000 ", tokens: { inputTokens: 1 } }))).toBe("ignored");
    expect(statistics.snapshotJson()).toBe(EMPTY_JSON);
  });

  it("trims the key and the model, and a blank model is unknown", () => {
    const statistics = new RequestStatistics();
    statistics.apply(usageRecord({ apiKey: " sk-a ", model: "  ", timestamp: "2026-01-10T10:00:00Z", tokens: { inputTokens: 1 } }));
    statistics.apply(usageRecord({ apiKey: "sk-a", model: " gpt ", timestamp: "2026-01-10T10:00:00Z", tokens: { inputTokens: 1 } }));
    expect(Object.keys(statistics.snapshot().apis)).toEqual(["sk-a"]);
    expect(Object.keys(statistics.snapshot().apis["sk-a"]!.models)).toEqual(["gpt", "unknown"]);
  });

  it("keeps latency_ms and the offset out of the dedup key: the first delivery wins", () => {
    const statistics = new RequestStatistics();
    const base = { apiKey: "k", model: "m", tokens: { inputTokens: 5 } } as const;
    expect(statistics.apply(usageRecord({ ...base, latencyMs: 10, timestamp: "2026-01-10T23:30:00-05:00" }))).toBe("added");
    expect(statistics.apply(usageRecord({ ...base, latencyMs: 99, timestamp: "2026-01-11T04:30:00Z" }))).toBe("duplicate");
    expect(statistics.apply(usageRecord({ ...base, latencyMs: 10, timestamp: "2026-01-11T04:30:00.000000001Z" }))).toBe("added");
    expect(statistics.snapshotJson()).toBe(
      '{"total_requests":2,"success_count":2,"failure_count":0,"total_tokens":10,"apis":{"k":{"total_requests":2,"total_tokens":10,"models":{"m":{"total_requests":2,"total_tokens":10,"details":[{"timestamp":"2026-01-10T23:30:00-05:00","latency_ms":10,"source":"","auth_index":"","tokens":{"input_tokens":5,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":5},"failed":false},{"timestamp":"2026-01-11T04:30:00.000000001Z","latency_ms":10,"source":"","auth_index":"","tokens":{"input_tokens":5,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":5},"failed":false}]}}}},"requests_by_day":{"2026-01-10":1,"2026-01-11":1},"requests_by_hour":{"04":1,"23":1},"tokens_by_day":{"2026-01-10":5,"2026-01-11":5},"tokens_by_hour":{"04":5,"23":5}}',
    );
  });

  it("tells apart every field of the dedup key", () => {
    const statistics = new RequestStatistics();
    const base = usageRecord({
      apiKey: "k",
      model: "m",
      source: "s",
      authIndex: "1",
      timestamp: "2026-01-10T10:00:00Z",
      tokens: { inputTokens: 1, outputTokens: 2, reasoningTokens: 3, cachedTokens: 4, totalTokens: 10 },
    });
    const variants = [
      base,
      { ...base, apiKey: "k2" },
      { ...base, model: "m2" },
      { ...base, source: "s2" },
      { ...base, authIndex: "2" },
      { ...base, failed: true },
      { ...base, statusCode: 500 },
      { ...base, timestamp: parseRfc3339("2026-01-10T10:00:00.000000001Z") },
      ...(["inputTokens", "outputTokens", "reasoningTokens", "cachedTokens", "totalTokens"] as const).map((field) => ({
        ...base,
        tokens: { ...base.tokens, [field]: base.tokens[field] + 100 },
      })),
    ];
    expect(variants.map((record) => statistics.apply(record))).toEqual([
      "added",
      "added",
      "added",
      "added",
      "added",
      "added",
      "duplicate",
      "added",
      "added",
      "added",
      "added",
      "added",
      "added",
    ]);
    // statusCode 500 only makes the record failed, the same key as `failed: true`.
  });

  it("compares normalised totals: a zero total equals its computed value", () => {
    const statistics = new RequestStatistics();
    const tokens = { inputTokens: 100, outputTokens: 30, reasoningTokens: 12, cachedTokens: 5 };
    expect(statistics.apply(usageRecord({ apiKey: "k", timestamp: "2026-01-10T10:00:00Z", tokens }))).toBe("added");
    expect(statistics.apply(usageRecord({ apiKey: "k", timestamp: "2026-01-10T10:00:00Z", tokens: { ...tokens, totalTokens: 142 } }))).toBe(
      "duplicate",
    );
  });

  it("clamps a negative total to 0 in the global and day/hour counters but not per API and model", () => {
    const statistics = new RequestStatistics();
    statistics.apply(
      usageRecord({ apiKey: "k", model: "m", timestamp: "2026-01-10T10:00:00+02:00", tokens: { inputTokens: 4, totalTokens: -9 } }),
    );
    statistics.apply(usageRecord({ apiKey: "k", model: "m", timestamp: "2026-01-10T11:00:00+02:00", tokens: { inputTokens: 4 } }));
    const snapshot = statistics.snapshot({ details: false });
    expect(snapshot).toEqual({
      total_requests: 2,
      success_count: 2,
      failure_count: 0,
      total_tokens: 4,
      apis: { k: { total_requests: 2, total_tokens: -5, models: { m: { total_requests: 2, total_tokens: -5, details: [] } } } },
      requests_by_day: { "2026-01-10": 2 },
      requests_by_hour: { "10": 1, "11": 1 },
      tokens_by_day: { "2026-01-10": 4 },
      tokens_by_hour: { "10": 0, "11": 4 },
    } satisfies StatisticsSnapshot);
  });

  it("keys details with `|` in their names exactly as the seed's joined key does", () => {
    const statistics = new RequestStatistics();
    const at = "2026-01-10T10:00:00Z";
    // "a|b" + "c" and "a" + "b|c" join to the same seed key: the seed skips the second.
    expect(statistics.apply(usageRecord({ apiKey: "a|b", model: "c", timestamp: at }))).toBe("added");
    expect(statistics.apply(usageRecord({ apiKey: "a", model: "b|c", timestamp: at }))).toBe("duplicate");
    expect(statistics.apply(usageRecord({ apiKey: "a", model: "b|c", source: "x", timestamp: at }))).toBe("added");
    expect(statistics.apply(usageRecord({ apiKey: "a", model: "b|c", source: "x", timestamp: at }))).toBe("duplicate");
    expect(statistics.detailCount).toBe(2);
  });

  it("enters record()ed details into the dedup index", () => {
    const statistics = new RequestStatistics();
    statistics.record(SK_A_RECORD);
    statistics.record(SK_A_RECORD);
    expect(statistics.apply(SK_A_RECORD)).toBe("duplicate");
    expect(statistics.detailCount).toBe(2);
  });

  it("holds any safe integer exactly, beyond int32 too", () => {
    const statistics = new RequestStatistics();
    const big = {
      inputTokens: 2 ** 31,
      outputTokens: -(2 ** 31),
      reasoningTokens: 2 ** 52,
      cachedTokens: -2147483648,
      totalTokens: Number.MAX_SAFE_INTEGER,
    };
    statistics.apply(usageRecord({ apiKey: "k", latencyMs: 2 ** 40, timestamp: "0000-01-01T00:00:00+01:00", tokens: big }));
    statistics.apply(
      usageRecord({ apiKey: "k", latencyMs: 1, timestamp: "9999-12-31T23:59:59.999999999-23:59", tokens: { inputTokens: 1 } }),
    );
    expect(statistics.apply(usageRecord({ apiKey: "k", latencyMs: 3, timestamp: "0000-01-01T00:00:00+01:00", tokens: big }))).toBe(
      "duplicate",
    );
    const details = statistics.snapshot().apis.k?.models.unknown?.details;
    expect(details).toEqual([
      {
        timestamp: "0000-01-01T00:00:00+01:00",
        latency_ms: 2 ** 40,
        source: "",
        auth_index: "",
        tokens: {
          input_tokens: 2 ** 31,
          output_tokens: -(2 ** 31),
          reasoning_tokens: 2 ** 52,
          cached_tokens: -2147483648,
          total_tokens: Number.MAX_SAFE_INTEGER,
        },
        failed: false,
      },
      {
        timestamp: "9999-12-31T23:59:59.999999999-23:59",
        latency_ms: 1,
        source: "",
        auth_index: "",
        tokens: { input_tokens: 1, output_tokens: 0, reasoning_tokens: 0, cached_tokens: 0, total_tokens: 1 },
        failed: false,
      },
    ]);
    expect(statistics.snapshot().requests_by_day).toEqual({ "0000-01-01": 1, "9999-12-31": 1 });
    const json = statistics.snapshotJson();
    expect(json).toContain('"latency_ms":1099511627776,');
    expect(json).toContain(
      '{"input_tokens":2147483648,"output_tokens":-2147483648,"reasoning_tokens":4503599627370496,"cached_tokens":-2147483648,"total_tokens":9007199254740991}',
    );
    expect(JSON.parse(json)).toEqual(statistics.snapshot());
  });
});

describe("RequestStatistics.applyBatch", () => {
  it("reports each record's result in order", () => {
    const statistics = new RequestStatistics();
    const other = usageRecord({ apiKey: "k", timestamp: "2026-01-10T10:00:00Z" });
    expect(statistics.applyBatch([SK_A_RECORD, usageRecord({ apiKey: " " }), SK_A_RECORD, other])).toEqual([
      "added",
      "ignored",
      "duplicate",
      "added",
    ]);
    expect(statistics.applyBatch([])).toEqual([]);
    expect(statistics.totals().totalRequests).toBe(2);
  });

  it("checks every record before applying any", () => {
    const statistics = new RequestStatistics();
    const bad = usageRecord({ apiKey: "k", tokens: { inputTokens: 0.5 } });
    expect(codeOf(() => statistics.applyBatch([SK_A_RECORD, bad]))).toBe("STATS_INVALID_RECORD");
    expect(statistics.snapshotJson()).toBe(EMPTY_JSON);
  });
});

describe("snapshot options and JSON encoding", () => {
  function filled(): RequestStatistics {
    const statistics = new RequestStatistics();
    statistics.apply(usageRecord({ apiKey: "k", model: "m", timestamp: "2026-01-10T10:00:00.5Z", tokens: { inputTokens: 1 } }));
    statistics.apply(usageRecord({ apiKey: "k", model: "m", timestamp: "2026-01-10T20:00:00+08:00", tokens: { inputTokens: 2 } }));
    statistics.apply(usageRecord({ apiKey: "k", model: "n", timestamp: "2026-01-10T12:00:00Z", tokens: { inputTokens: 4 } }));
    return statistics;
  }

  it("detailsSince keeps details at or after an instant, whatever their offset; totals stay whole", () => {
    const statistics = filled();
    const since = parseRfc3339("2026-01-10T12:00:00Z");
    const snapshot = statistics.snapshot({ detailsSince: since });
    expect(snapshot.apis.k?.models.m?.details.map((d) => d.timestamp)).toEqual(["2026-01-10T20:00:00+08:00"]);
    expect(snapshot.apis.k?.models.n?.details.map((d) => d.timestamp)).toEqual(["2026-01-10T12:00:00Z"]);
    expect(snapshot.total_requests).toBe(3);
    expect(snapshot.apis.k?.models.m?.total_requests).toBe(2);
    expect(JSON.parse(statistics.snapshotJson({ detailsSince: since }))).toEqual(snapshot);
  });

  it("details: false empties every details array", () => {
    const statistics = filled();
    expect(statistics.snapshotJson({ details: false })).toBe(
      '{"total_requests":3,"success_count":3,"failure_count":0,"total_tokens":7,"apis":{"k":{"total_requests":3,"total_tokens":7,"models":{"m":{"total_requests":2,"total_tokens":3,"details":[]},"n":{"total_requests":1,"total_tokens":4,"details":[]}}}},"requests_by_day":{"2026-01-10":3},"requests_by_hour":{"10":1,"12":1,"20":1},"tokens_by_day":{"2026-01-10":7},"tokens_by_hour":{"10":1,"12":4,"20":2}}',
    );
  });

  it("sorts map keys by UTF-8 bytes and escapes as Go does", () => {
    const statistics = new RequestStatistics();
    for (const apiKey of ["b", "\ud83d\ude00", "\uff41", "B", "a<b", "__proto__", "10", "9"]) {
      statistics.apply(usageRecord({ apiKey, model: "x\u2028y", source: '\u0001\b\f\n\r\t"\\&', timestamp: "2026-01-10T10:00:00Z" }));
    }
    const json = statistics.snapshotJson({ details: false });
    expect(json.slice(json.indexOf('"apis":'), json.indexOf(',"requests_by_day"'))).toBe(
      '"apis":{' +
        ["10", "9", "B", "__proto__", "a\\u003cb", "b", "\uff41", "\ud83d\ude00"]
          .map(
            (name) =>
              `"${name}":{"total_requests":1,"total_tokens":0,"models":{"x\\u2028y":{"total_requests":1,"total_tokens":0,"details":[]}}}`,
          )
          .join(",") +
        "}",
    );
    const detailJson = statistics.snapshotJson();
    expect(detailJson).toContain('"source":"\\u0001\\b\\f\\n\\r\\t\\"\\\\\\u0026"');
    const snapshot = statistics.snapshot();
    expect(Object.keys(snapshot.apis)).toContain("__proto__");
    expect(Object.getPrototypeOf(snapshot.apis)).toBe(Object.prototype);
    expect(JSON.parse(detailJson)).toEqual(JSON.parse(JSON.stringify(snapshot)));
  });

  it("streams the same JSON in chunks", () => {
    const statistics = new RequestStatistics();
    for (let i = 0; i < 2000; i++)
      statistics.apply(usageRecord({ apiKey: `k${i % 7}`, timestamp: { epochSeconds: 1_768_000_000 + i, nanos: i, offsetSeconds: 3600 } }));
    const chunks: string[] = [];
    statistics.writeSnapshotJson((chunk) => chunks.push(chunk));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).toBe(statistics.snapshotJson());
  });
});

describe("exportDetails / mergeDetails", () => {
  it("exports rows in insertion order with a local string table", () => {
    const statistics = new RequestStatistics();
    statistics.apply(
      usageRecord({
        apiKey: "k",
        model: "m",
        source: "s",
        authIndex: "1",
        latencyMs: 12,
        failed: true,
        timestamp: "2026-01-10T10:00:00.25+05:30",
        tokens: { inputTokens: 3, outputTokens: 4 },
      }),
    );
    statistics.apply(usageRecord({ apiKey: "j", model: "m", timestamp: "2026-01-10T09:00:00Z", tokens: { cachedTokens: 9 } }));
    const batch = statistics.exportDetails(1, 2);
    expect(batch.count).toBe(1);
    expect([...batch.strings]).toEqual(["j", "m", ""]);
    expect({
      api: [...batch.api],
      model: [...batch.model],
      source: [...batch.source],
      authIndex: [...batch.authIndex],
      epochSeconds: [...batch.epochSeconds],
      nanos: [...batch.nanos],
      offsetSeconds: [...batch.offsetSeconds],
      failed: [...batch.failed],
      latencyMs: [...batch.latencyMs],
      inputTokens: [...batch.inputTokens],
      outputTokens: [...batch.outputTokens],
      reasoningTokens: [...batch.reasoningTokens],
      cachedTokens: [...batch.cachedTokens],
      totalTokens: [...batch.totalTokens],
    }).toEqual({
      api: [0],
      model: [1],
      source: [2],
      authIndex: [2],
      epochSeconds: [1768035600],
      nanos: [0],
      offsetSeconds: [0],
      failed: [0],
      latencyMs: [0],
      inputTokens: [0],
      outputTokens: [0],
      reasoningTokens: [0],
      cachedTokens: [9],
      totalTokens: [9],
    });
    const all = statistics.exportDetails();
    expect(all.count).toBe(2);
    expect(all.offsetSeconds[0]).toBe(19800);
    expect(all.failed[0]).toBe(1);
  });

  it("rebuilds a store exactly, in one batch or in several", () => {
    const source = new RequestStatistics({ clock: counterClock() });
    for (let i = 0; i < 500; i++) {
      source.apply(
        usageRecord({
          apiKey: `k${i % 5}`,
          model: `m${i % 3}`,
          source: `s${i % 4}`,
          latencyMs: i,
          failed: i % 7 === 0,
          timestamp: { epochSeconds: 1_768_000_000 + i * 977, nanos: i * 1001, offsetSeconds: ((i % 5) - 2) * 3600 },
          tokens: { inputTokens: i, totalTokens: i % 11 === 0 ? -i : 0 },
        }),
      );
    }
    const whole = new RequestStatistics();
    expect(whole.mergeDetails(source.exportDetails())).toEqual({ added: 500, skipped: 0 });
    expect(whole.snapshotJson()).toBe(source.snapshotJson());
    const pieces = new RequestStatistics();
    for (let from = 0; from < 500; from += 128) pieces.mergeDetails(source.exportDetails(from, Math.min(500, from + 128)));
    expect(pieces.snapshotJson()).toBe(source.snapshotJson());
    expect(pieces.mergeDetails(source.exportDetails())).toEqual({ added: 0, skipped: 500 });
  });

  it("refuses bad ranges and bad batches before changing anything", () => {
    const statistics = new RequestStatistics();
    statistics.apply(usageRecord({ apiKey: "k", timestamp: "2026-01-10T10:00:00Z" }));
    expect(codeOf(() => statistics.exportDetails(-1, 1))).toBe("STATS_INVALID_RANGE");
    expect(codeOf(() => statistics.exportDetails(1, 0))).toBe("STATS_INVALID_RANGE");
    expect(codeOf(() => statistics.exportDetails(0, 2))).toBe("STATS_INVALID_RANGE");
    expect(codeOf(() => statistics.exportDetails(0.5, 1))).toBe("STATS_INVALID_RANGE");
    const good = statistics.exportDetails();
    const before = statistics.snapshotJson();
    const target = new RequestStatistics();
    const bad = [
      { ...good, api: new Uint32Array([5]) },
      { ...good, count: 2 },
      { ...good, nanos: new Int32Array([-1]) },
      { ...good, offsetSeconds: new Int32Array([30]) },
      { ...good, failed: new Uint8Array([2]) },
      { ...good, totalTokens: new Float64Array([0.5]) },
      { ...good, inputTokens: new Float64Array([2 ** 53]) },
      { ...good, latencyMs: [0] as unknown as Float64Array },
      { ...good, strings: [1] as unknown as string[] },
    ];
    for (const batch of bad) expect(codeOf(() => target.mergeDetails(batch))).toBe("STATS_INVALID_COLUMNS");
    expect(target.snapshotJson()).toBe(EMPTY_JSON);
    expect(statistics.snapshotJson()).toBe(before);
  });
});

describe("store lifecycle", () => {
  it("clear empties everything, and the store works again afterwards", () => {
    const statistics = new RequestStatistics({ clock: counterClock() });
    recordScenario(statistics);
    statistics.mergeSnapshot({ ...JSON.parse(EMPTY_JSON), apis: { lonely: {} } } as StatisticsSnapshot);
    statistics.clear();
    expect(statistics.snapshotJson()).toBe(EMPTY_JSON);
    expect(statistics.detailCount).toBe(0);
    expect(statistics.apiNames()).toEqual([]);
    expect(statistics.apply(SK_A_RECORD)).toBe("added");
    expect(statistics.totals()).toEqual({ totalRequests: 1, successCount: 1, failureCount: 0, totalTokens: 142 });
  });

  it("lists API names, also those without details", () => {
    const statistics = new RequestStatistics();
    statistics.apply(SK_A_RECORD);
    statistics.mergeSnapshot({ apis: { " lonely ": { models: {} } } } as unknown as StatisticsSnapshot);
    expect(statistics.apiNames()).toEqual(["lonely", "sk-a"]);
  });

  it("grows storage and the index past many resizes without losing a detail", () => {
    const statistics = new RequestStatistics({ initialCapacity: 1 });
    const n = 20_000;
    for (let i = 0; i < n; i++)
      statistics.apply(usageRecord({ apiKey: "k", timestamp: { epochSeconds: 1_768_000_000, nanos: i, offsetSeconds: 0 } }));
    for (let i = 0; i < n; i += 97)
      expect(statistics.apply(usageRecord({ apiKey: "k", timestamp: { epochSeconds: 1_768_000_000, nanos: i, offsetSeconds: 0 } }))).toBe(
        "duplicate",
      );
    const stats = statistics.storageStats();
    expect(stats.details).toBe(n);
    expect(stats.capacity).toBeGreaterThanOrEqual(n);
    expect(stats.contexts).toBe(1);
    expect(stats.credentials).toBe(1);
  });

  it("builds a store from several snapshots", () => {
    const a = new RequestStatistics();
    a.apply(SK_A_RECORD);
    const b = new RequestStatistics();
    b.apply(usageRecord({ apiKey: "other", timestamp: "2026-01-10T10:00:00Z" }));
    const merged = RequestStatistics.fromSnapshots([a.snapshot(), b.snapshot(), a.snapshot()]);
    expect(merged.totals().totalRequests).toBe(2);
    expect(merged.apiNames()).toEqual(["other", "sk-a"]);
  });

  it("warns once through the logger when a counter passes 2^53", () => {
    const warnings: string[] = [];
    const statistics = new RequestStatistics({ logger: { warn: (_object, message) => warnings.push(message ?? "") } });
    for (let i = 0; i < 3; i++) {
      statistics.apply(
        usageRecord({ apiKey: "k", timestamp: { epochSeconds: i, nanos: 0, offsetSeconds: 0 }, tokens: { totalTokens: 2 ** 52 } }),
      );
    }
    expect(warnings).toEqual(["statistics counter beyond 2^53: sums are no longer exact"]);
  });
});
