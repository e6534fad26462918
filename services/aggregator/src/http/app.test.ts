import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { Counter, Registry } from "prom-client";
import { RequestStatistics, StatisticsError, parseRfc3339 } from "@usage-ledger/statistics";
import type { Clock, ParsedSnapshot, Timestamp, UsageRecord } from "@usage-ledger/statistics";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { buildApp } from "./app";
import type { ApiConfig } from "./app";
import type { ImportOutcome, ManagementBackend, ReadinessReport } from "./backend";
import { API_ERROR_CODES } from "./errors";

/**
 * A test double of the aggregator's HTTP-facing interface, built on the real RequestStatistics (no
 * Kafka: the integration tests in test/http-*.int.test.ts use the real aggregator and broker).
 * Its import merges into the store, as the aggregator's durable import ends up doing.
 */
class InMemoryLedger implements ManagementBackend {
  readonly statistics: RequestStatistics;
  readonly metrics = new Registry();
  readonly applied: Counter;
  readiness: () => ReadinessReport = () => ({ ready: true, partitions: [{ partition: 0, state: "live" }] });
  importFailure: Error | undefined;
  imports = 0;

  constructor(clock: Clock) {
    this.statistics = new RequestStatistics({ clock });
    this.applied = new Counter({ name: "ledger_records_applied_total", help: "records applied", registers: [this.metrics] });
  }

  add(record: UsageRecord): void {
    this.statistics.apply(record);
    this.applied.inc();
  }

  fleetStatistics(): RequestStatistics {
    return this.statistics;
  }

  async importSnapshot(snapshot: ParsedSnapshot): Promise<ImportOutcome> {
    this.imports++;
    if (this.importFailure !== undefined) throw this.importFailure;
    const { added, skipped } = this.statistics.mergeSnapshot(snapshot);
    const totals = this.statistics.totals();
    return { added, skipped, totalRequests: totals.totalRequests, failedRequests: totals.failureCount };
  }
}

const KEY = "test-management-key";
const REMOTE = "203.0.113.7";
const build = { version: "0.1.0", commit: "abc1234", buildDate: "unknown" };

function ts(text: string): Timestamp {
  return parseRfc3339(text);
}

function record(overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    timestamp: ts("2026-01-10T14:46:59.123456789+08:00"),
    apiKey: "sk-one",
    model: "gpt-5",
    provider: "codex",
    endpoint: "POST /v1/responses",
    source: "dev@example.com",
    authIndex: "0",
    authId: "",
    authType: "oauth",
    failed: false,
    statusCode: 200,
    latencyMs: 250,
    tokens: { inputTokens: 10, outputTokens: 5, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
    ...overrides,
  };
}

interface Harness {
  app: FastifyInstance;
  ledger: InMemoryLedger;
  clock: { now: number };
  call: (options: InjectOptions) => Promise<LightMyRequestResponse>;
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function harness(config: Partial<ApiConfig> = {}): Promise<Harness> {
  const clock = { now: Date.UTC(2026, 1, 3, 4, 5, 6) };
  // exported_at comes from this clock; written in +08:00 to show the export converts it to UTC.
  const statsClock: Clock = () => ({ epochSeconds: 1_770_091_506, nanos: 700_000_000, offsetSeconds: 8 * 3600 });
  const ledger = new InMemoryLedger(statsClock);
  const app = await buildApp({
    aggregator: ledger,
    config: { managementKey: KEY, allowRemoteManagement: true, bodyLimitBytes: 1 << 20, build, ...config },
    logger: pino({ level: "silent" }),
    clock: statsClock,
    nowMillis: () => clock.now,
  });
  apps.push(app);
  return { app, ledger, clock, call: (options) => app.inject(options) };
}

const auth = { authorization: `Bearer ${KEY}` };

/** The literal snapshot of the single default record. */
const ONE_RECORD_USAGE =
  '{"total_requests":1,"success_count":1,"failure_count":0,"total_tokens":15,' +
  '"apis":{"sk-one":{"total_requests":1,"total_tokens":15,"models":{"gpt-5":{"total_requests":1,"total_tokens":15,' +
  '"details":[{"timestamp":"2026-01-10T14:46:59.123456789+08:00","latency_ms":250,"source":"dev@example.com","auth_index":"0",' +
  '"tokens":{"input_tokens":10,"output_tokens":5,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":15},"failed":false}]}}}},' +
  '"requests_by_day":{"2026-01-10":1},"requests_by_hour":{"14":1},"tokens_by_day":{"2026-01-10":15},"tokens_by_hour":{"14":15}}';

function errorOf(response: LightMyRequestResponse): unknown {
  return { status: response.statusCode, body: response.body };
}

describe("GET /v0/management/usage", () => {
  it("answers {failed_requests, usage} as Go writes a gin.H: keys sorted, the snapshot byte-exact", async () => {
    const { call, ledger } = await harness();
    ledger.add(record());
    const response = await call({ method: "GET", url: "/v0/management/usage", headers: auth });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(response.body).toBe(`{"failed_requests":0,"usage":${ONE_RECORD_USAGE}}`);
  });

  it("reports failed_requests as usage.failure_count", async () => {
    const { call, ledger } = await harness();
    ledger.add(record());
    ledger.add(record({ timestamp: ts("2026-01-10T15:00:00Z"), statusCode: 429 }));
    ledger.add(record({ timestamp: ts("2026-01-10T15:00:01Z"), failed: true }));
    const body = (await call({ method: "GET", url: "/v0/management/usage", headers: auth })).json<{
      failed_requests: number;
      usage: { failure_count: number; total_requests: number };
    }>();
    expect(body.failed_requests).toBe(2);
    expect(body.usage.failure_count).toBe(2);
    expect(body.usage.total_requests).toBe(3);
  });

  it("?details=false leaves every model's details out and keeps the totals whole", async () => {
    const { call, ledger } = await harness();
    ledger.add(record());
    const response = await call({ method: "GET", url: "/v0/management/usage?details=false", headers: auth });
    expect(response.body).toBe(`{"failed_requests":0,"usage":${ONE_RECORD_USAGE.replace(/"details":\[.*?\]\}/, '"details":[]}')}}`);
    const alsoFalse = await call({ method: "GET", url: "/v0/management/usage?details=F", headers: auth });
    expect(alsoFalse.body).toBe(response.body);
    const explicitTrue = await call({ method: "GET", url: "/v0/management/usage?details=1", headers: auth });
    expect(explicitTrue.body).toBe(`{"failed_requests":0,"usage":${ONE_RECORD_USAGE}}`);
  });

  it("?details_since keeps details at or after the instant (any offset), totals whole", async () => {
    const { call, ledger } = await harness();
    ledger.add(record({ timestamp: ts("2026-01-10T10:00:00Z") }));
    ledger.add(record({ timestamp: ts("2026-01-10T11:00:00Z") }));
    ledger.add(record({ timestamp: ts("2026-01-10T12:00:00Z") }));
    const since = encodeURIComponent("2026-01-10T19:00:00+08:00"); // = 11:00Z
    const body = (await call({ method: "GET", url: `/v0/management/usage?details_since=${since}`, headers: auth })).json<{
      usage: { total_requests: number; apis: Record<string, { models: Record<string, { details: Array<{ timestamp: string }> }> }> };
    }>();
    expect(body.usage.total_requests).toBe(3);
    expect(body.usage.apis["sk-one"]?.models["gpt-5"]?.details.map((d) => d.timestamp)).toEqual([
      "2026-01-10T11:00:00Z",
      "2026-01-10T12:00:00Z",
    ]);
  });

  it("answers 400 for a bad or repeated details / details_since", async () => {
    const { call } = await harness();
    const cases: Array<[string, string]> = [
      ["details=nope", "invalid details"],
      ["details=", "invalid details"],
      ["details=true&details=false", "invalid details"],
      ["details_since=yesterday", "invalid details_since"],
      ["details_since=2026-01-10", "invalid details_since"],
      ["details_since=2026-01-10T10:00:00Z&details_since=2026-01-10T10:00:00Z", "invalid details_since"],
    ];
    for (const [query, message] of cases) {
      const response = await call({ method: "GET", url: `/v0/management/usage?${query}`, headers: auth });
      expect(errorOf(response), query).toEqual({ status: 400, body: JSON.stringify({ error: message }) });
      const exported = await call({ method: "GET", url: `/v0/management/usage/export?${query}`, headers: auth });
      expect(errorOf(exported), query).toEqual({ status: 400, body: JSON.stringify({ error: message }) });
    }
  });
});

describe("GET /v0/management/usage/export", () => {
  it("answers {version, exported_at (UTC RFC3339Nano), usage} in Go struct order", async () => {
    const { call, ledger } = await harness();
    ledger.add(record());
    const response = await call({ method: "GET", url: "/v0/management/usage/export", headers: auth });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(response.body).toBe(`{"version":1,"exported_at":"2026-02-03T04:05:06.7Z","usage":${ONE_RECORD_USAGE}}`);
  });

  it("streams a large snapshot and it is still exactly the snapshot", async () => {
    const { call, ledger } = await harness();
    for (let i = 0; i < 20_000; i++) {
      ledger.add(record({ timestamp: { epochSeconds: 1_768_000_000 + i, nanos: i, offsetSeconds: 0 }, apiKey: `sk-${i % 7}` }));
    }
    const response = await call({ method: "GET", url: "/v0/management/usage/export", headers: auth });
    expect(response.body.length).toBeGreaterThan(4 * 1024 * 1024);
    expect(response.body).toBe(`{"version":1,"exported_at":"2026-02-03T04:05:06.7Z","usage":${ledger.statistics.snapshotJson()}}`);
  });
});

describe("a large snapshot is streamed without stopping the server", () => {
  it("answers other requests and takes records meanwhile; the body is the state at the request", async () => {
    const { call, ledger } = await harness();
    for (let i = 0; i < 20_000; i++) {
      ledger.add(record({ timestamp: { epochSeconds: 1_768_000_000 + i, nanos: i, offsetSeconds: 0 }, apiKey: `sk-${i % 7}` }));
    }
    const expected = `{"version":1,"exported_at":"2026-02-03T04:05:06.7Z","usage":${ledger.statistics.snapshotJson()}}`;
    // Records the number of records added meanwhile at each chunk the server draws.
    const drawnAfter: number[] = [];
    const draw = ledger.statistics.snapshotJsonChunks.bind(ledger.statistics);
    ledger.statistics.snapshotJsonChunks = function* (options) {
      for (const chunk of draw(options)) {
        drawnAfter.push(addedWhileStreaming);
        yield chunk;
      }
    };
    let addedWhileStreaming = 0;
    let finished = false;
    const large = call({ method: "GET", url: "/v0/management/usage/export", headers: auth }).then((response) => {
      finished = true;
      return response;
    });
    let answeredWhileStreaming = 0;
    while (!finished) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (finished) break;
      ledger.add(
        record({ timestamp: { epochSeconds: 1_769_000_000 + addedWhileStreaming, nanos: 0, offsetSeconds: 0 }, apiKey: "sk-late" }),
      );
      addedWhileStreaming++;
      if (answeredWhileStreaming === 0) {
        const small = await call({ method: "GET", url: "/v0/management/usage?details=false", headers: auth });
        expect(small.statusCode).toBe(200);
        if (!finished) answeredWhileStreaming++;
      }
    }
    const response = await large;
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(expected);
    expect(addedWhileStreaming).toBeGreaterThan(0);
    expect(answeredWhileStreaming).toBe(1);
    // The chunks were drawn one at a time, records being applied in between.
    expect(drawnAfter.length).toBeGreaterThan(10);
    expect(drawnAfter.at(-1)).toBeGreaterThan(0);
    expect(ledger.statistics.snapshotJson()).toContain('"sk-late"');
  });
});

describe("POST /v0/management/usage/import", () => {
  async function exportOf(records: UsageRecord[]): Promise<string> {
    const source = await harness();
    for (const r of records) source.ledger.add(r);
    return (await source.call({ method: "GET", url: "/v0/management/usage/export", headers: auth })).body;
  }

  const three = [
    record(),
    record({ timestamp: ts("2026-01-11T00:30:00.5-05:00"), apiKey: "sk-two", model: "", statusCode: 500 }),
    record({
      timestamp: ts("2026-01-11T01:00:00Z"),
      apiKey: "",
      endpoint: "POST /v1/messages",
      tokens: { inputTokens: -3, outputTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
    }),
  ];

  it("imports an export body: the seed's counts, keys sorted, and the same usage afterwards", async () => {
    const body = await exportOf(three);
    const target = await harness();
    const response = await target.call({
      method: "POST",
      url: "/v0/management/usage/import",
      headers: { ...auth, "content-type": "application/json" },
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(response.body).toBe('{"added":3,"failed_requests":1,"skipped":0,"total_requests":3}');
    const exported = JSON.parse(body) as { usage: unknown };
    const after = await target.call({ method: "GET", url: "/v0/management/usage", headers: auth });
    expect(after.json<{ usage: unknown }>().usage).toEqual(exported.usage);
  });

  it("imports a GET /usage body, and a second import of the same data adds nothing", async () => {
    const source = await harness();
    for (const r of three) source.ledger.add(r);
    const usageBody = (await source.call({ method: "GET", url: "/v0/management/usage", headers: auth })).body;
    const target = await harness();
    const first = await target.call({ method: "POST", url: "/v0/management/usage/import", headers: auth, payload: usageBody });
    expect(first.body).toBe('{"added":3,"failed_requests":1,"skipped":0,"total_requests":3}');
    const second = await target.call({ method: "POST", url: "/v0/management/usage/import", headers: auth, payload: usageBody });
    expect(second.body).toBe('{"added":0,"failed_requests":1,"skipped":3,"total_requests":3}');
  });

  it("accepts version 0, version 1 and a missing version, whatever the content type", async () => {
    const usage = (JSON.parse(await exportOf([record()])) as { usage: unknown }).usage;
    const bodies = [
      { headers: { "content-type": "application/json" }, payload: JSON.stringify({ version: 0, usage }) },
      { headers: { "content-type": "text/plain" }, payload: JSON.stringify({ version: 1, usage }) },
      { headers: {}, payload: JSON.stringify({ usage, extra: [1, 2] }) },
      { headers: { "content-type": "application/x-www-form-urlencoded" }, payload: JSON.stringify({ version: null, usage }) },
    ];
    for (const { headers, payload } of bodies) {
      const target = await harness();
      const response = await target.call({ method: "POST", url: "/v0/management/usage/import", headers: { ...auth, ...headers }, payload });
      expect(response.body, payload.slice(0, 20)).toBe('{"added":1,"failed_requests":0,"skipped":0,"total_requests":1}');
    }
  });

  it("answers 400 for bad JSON, wrong types and unsupported versions, and changes no state", async () => {
    const usage = JSON.parse((await exportOf(three)).replace(/^\{"version":1,"exported_at":"[^"]*","usage":/, '{"usage":')) as {
      usage: Record<string, unknown>;
    };
    const target = await harness();
    target.ledger.add(record({ timestamp: ts("2025-12-31T23:59:59Z") }));
    const before = target.ledger.statistics.snapshotJson();
    const withUsage = (patch: (u: Record<string, unknown>) => void): string => {
      const copy = structuredClone(usage.usage);
      patch(copy);
      return JSON.stringify({ usage: copy });
    };
    const cases: Array<[string, string | Buffer, string]> = [
      ["truncated", "{", "invalid json"],
      ["empty body", "", "invalid json"],
      ["not JSON", "hello", "invalid json"],
      ["byte-order mark", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("{}")]), "invalid json"],
      ["trailing garbage", '{"usage":{}} x', "invalid json"],
      ["array body", "[]", "invalid json"],
      ["string version", JSON.stringify({ version: "1", usage: usage.usage }), "invalid json"],
      ["fractional version", '{"version":1.5}', "invalid json"],
      ["usage as array", '{"usage":[]}', "invalid json"],
      ["total_requests as string", withUsage((u) => (u.total_requests = "1")), "invalid json"],
      ["apis as array", withUsage((u) => (u.apis = [])), "invalid json"],
      ["bad timestamp", withUsage((u) => setDetail(u, (d) => (d.timestamp = "yesterday"))), "invalid json"],
      [
        "fractional tokens",
        withUsage((u) => setDetail(u, (d) => ((d.tokens as Record<string, unknown>).input_tokens = 1.5))),
        "invalid json",
      ],
      ["failed as string", withUsage((u) => setDetail(u, (d) => (d.failed = "false"))), "invalid json"],
      ["details as object", withUsage((u) => setModel(u, (m) => (m.details = {}))), "invalid json"],
      ["version 2", JSON.stringify({ version: 2, usage: usage.usage }), "unsupported version"],
      ["version -1", '{"version":-1}', "unsupported version"],
      ["version 2 and a type mismatch", withUsage((u) => (u.total_tokens = "x")).replace("{", '{"version":2,'), "invalid json"],
    ];
    for (const [name, payload, message] of cases) {
      const response = await target.call({ method: "POST", url: "/v0/management/usage/import", headers: auth, payload });
      expect(errorOf(response), name).toEqual({ status: 400, body: JSON.stringify({ error: message }) });
      expect(response.headers["content-type"], name).toBe("application/json; charset=utf-8");
    }
    expect(target.ledger.imports).toBe(0);
    expect(target.ledger.statistics.snapshotJson()).toBe(before);
  });

  it("answers 400 'failed to read request body' for a body over the limit, and changes no state", async () => {
    const target = await harness({ bodyLimitBytes: 1024 });
    const before = target.ledger.statistics.snapshotJson();
    const payload = JSON.stringify({ usage: {}, padding: "x".repeat(2048) });
    const response = await target.call({ method: "POST", url: "/v0/management/usage/import", headers: auth, payload });
    expect(errorOf(response)).toEqual({ status: 400, body: '{"error":"failed to read request body"}' });
    expect(response.headers["x-cpa-version"]).toBe("0.1.0");
    expect(target.ledger.imports).toBe(0);
    expect(target.ledger.statistics.snapshotJson()).toBe(before);
  });

  it("answers 400 invalid json when the aggregator refuses the parsed snapshot as bad input", async () => {
    const body = await exportOf(three);
    const target = await harness();
    target.ledger.importFailure = new StatisticsError("STATS_INVALID_COLUMNS", "a column is not an integer");
    const response = await target.call({ method: "POST", url: "/v0/management/usage/import", headers: auth, payload: body });
    expect(errorOf(response)).toEqual({ status: 400, body: '{"error":"invalid json"}' });
  });

  it("answers 503 when the import cannot be written durably, and the store is unchanged", async () => {
    const body = await exportOf(three);
    const target = await harness();
    target.ledger.importFailure = new Error("KafkaJSNumberOfRetriesExceeded");
    const before = target.ledger.statistics.snapshotJson();
    const response = await target.call({ method: "POST", url: "/v0/management/usage/import", headers: auth, payload: body });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      error: "import failed: the ledger could not write all of it to Kafka; retrying the same import is safe (duplicates are skipped)",
    });
    expect(target.ledger.statistics.snapshotJson()).toBe(before);
  });
});

function setModel(usage: Record<string, unknown>, patch: (model: Record<string, unknown>) => void): void {
  const apis = usage.apis as Record<string, { models: Record<string, Record<string, unknown>> }>;
  const model = Object.values(Object.values(apis)[0]!.models)[0]!;
  patch(model);
}

function setDetail(usage: Record<string, unknown>, patch: (detail: Record<string, unknown>) => void): void {
  setModel(usage, (model) => patch((model.details as Array<Record<string, unknown>>)[0]!));
}

describe("management-key authentication", () => {
  const url = "/v0/management/usage";

  it("accepts Bearer (any case), a bare Authorization value and X-Management-Key", async () => {
    const { call } = await harness();
    const accepted = [
      { authorization: `Bearer ${KEY}` },
      { authorization: `bearer ${KEY}` },
      { authorization: KEY },
      { "x-management-key": KEY },
      { authorization: "Bearer ", "x-management-key": KEY },
    ];
    for (const headers of accepted) {
      for (const remoteAddress of ["127.0.0.1", REMOTE]) {
        const response = await call({ method: "GET", url, headers, remoteAddress });
        expect(response.statusCode, JSON.stringify({ headers, remoteAddress })).toBe(200);
      }
    }
  });

  it("answers 401 missing / invalid management key, with the version headers", async () => {
    const { call } = await harness();
    const cases: Array<[Record<string, string>, string]> = [
      [{}, "missing management key"],
      [{ authorization: "" }, "missing management key"],
      [{ authorization: "Bearer " }, "missing management key"],
      [{ authorization: "Bearer wrong" }, "invalid management key"],
      [{ authorization: `Basic ${KEY}` }, "invalid management key"],
      [{ authorization: `Bearer${KEY}` }, "invalid management key"],
      [{ "x-management-key": "wrong" }, "invalid management key"],
      // Authorization is read first: a wrong one is not rescued by a right X-Management-Key.
      [{ authorization: "Bearer wrong", "x-management-key": KEY }, "invalid management key"],
    ];
    for (const [headers, message] of cases) {
      for (const method of ["GET", "POST"] as const) {
        const target = method === "GET" ? url : "/v0/management/usage/import";
        const response = await call({ method, url: target, headers, payload: method === "POST" ? "{}" : undefined });
        expect(errorOf(response), JSON.stringify(headers)).toEqual({ status: 401, body: JSON.stringify({ error: message }) });
        expect(response.headers["x-cpa-version"]).toBe("0.1.0");
        expect(response.headers["x-cpa-commit"]).toBe("abc1234");
        expect(response.headers["x-cpa-build-date"]).toBe("unknown");
      }
    }
  });

  it("sends the version headers on successful management responses too", async () => {
    const { call } = await harness();
    for (const target of [url, "/v0/management/usage/export"]) {
      const response = await call({ method: "GET", url: target, headers: auth });
      expect(response.statusCode).toBe(200);
      expect([response.headers["x-cpa-version"], response.headers["x-cpa-commit"], response.headers["x-cpa-build-date"]]).toEqual([
        "0.1.0",
        "abc1234",
        "unknown",
      ]);
    }
  });

  it("bans a remote IP for 30 minutes after 5 failures; the ban expires; another IP is unaffected", async () => {
    const { call, clock } = await harness();
    const wrong = { authorization: "Bearer wrong" };
    const asRemote = (headers: Record<string, string>, remoteAddress = REMOTE): Promise<LightMyRequestResponse> =>
      call({ method: "GET", url, headers, remoteAddress });
    expect((await asRemote({})).statusCode).toBe(401); // a missing key counts as a failure too
    for (let i = 0; i < 4; i++) expect((await asRemote(wrong)).statusCode).toBe(401);
    const banned = await asRemote(auth);
    expect(errorOf(banned)).toEqual({ status: 403, body: '{"error":"IP banned due to too many failed attempts. Try again in 30m0s"}' });
    expect(banned.headers["x-cpa-version"]).toBe("0.1.0");
    expect((await asRemote(auth, "198.51.100.4")).statusCode).toBe(200);
    // the ban covers every management route, the import too
    const importWhileBanned = await call({
      method: "POST",
      url: "/v0/management/usage/import",
      headers: auth,
      remoteAddress: REMOTE,
      payload: "{}",
    });
    expect(importWhileBanned.statusCode).toBe(403);
    clock.now += 10 * 60_000 + 400;
    expect((await asRemote(auth)).json()).toEqual({ error: "IP banned due to too many failed attempts. Try again in 20m0s" });
    clock.now += 20 * 60_000 - 1400;
    expect((await asRemote(auth)).json()).toEqual({ error: "IP banned due to too many failed attempts. Try again in 1s" });
    clock.now += 1000;
    expect((await asRemote(auth)).statusCode).toBe(200);
    // After the ban the count starts from zero: 4 failures do not ban.
    for (let i = 0; i < 4; i++) expect((await asRemote(wrong)).statusCode).toBe(401);
    expect((await asRemote(auth)).statusCode).toBe(200);
  });

  it("resets the failure count on success", async () => {
    const { call } = await harness();
    const remoteCall = (headers: Record<string, string>): Promise<LightMyRequestResponse> =>
      call({ method: "GET", url, headers, remoteAddress: REMOTE });
    for (let i = 0; i < 4; i++) await remoteCall({ authorization: "wrong" });
    expect((await remoteCall(auth)).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await remoteCall({ authorization: "wrong" })).statusCode).toBe(401);
    expect((await remoteCall(auth)).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) await remoteCall({ authorization: "wrong" });
    expect((await remoteCall(auth)).statusCode).toBe(403);
  });

  it("never counts or bans loopback clients (as CLIProxyAPI)", async () => {
    const { call } = await harness();
    for (const remoteAddress of ["127.0.0.1", "::1"]) {
      for (let i = 0; i < 8; i++) {
        expect((await call({ method: "GET", url, headers: { authorization: "wrong" }, remoteAddress })).statusCode).toBe(401);
      }
      expect((await call({ method: "GET", url, headers: auth, remoteAddress })).statusCode).toBe(200);
    }
  });

  it("with a loopback-only (generated) key: remote clients get 403 'remote management disabled', local ones need the key", async () => {
    const { call } = await harness({ allowRemoteManagement: false });
    expect(errorOf(await call({ method: "GET", url, headers: auth, remoteAddress: REMOTE }))).toEqual({
      status: 403,
      body: '{"error":"remote management disabled"}',
    });
    expect((await call({ method: "GET", url, headers: auth })).statusCode).toBe(200);
    expect(errorOf(await call({ method: "GET", url }))).toEqual({ status: 401, body: '{"error":"missing management key"}' });
  });

  it("without a key at all: 403 'remote management key not set' for everyone", async () => {
    const { call } = await harness({ managementKey: undefined });
    for (const remoteAddress of ["127.0.0.1", REMOTE]) {
      expect(errorOf(await call({ method: "GET", url, headers: auth, remoteAddress }))).toEqual({
        status: 403,
        body: '{"error":"remote management key not set"}',
      });
    }
  });

  it("ignores X-Forwarded-For: the ban follows the socket address", async () => {
    const { call } = await harness();
    for (let i = 0; i < 5; i++) {
      await call({ method: "GET", url, headers: { authorization: "wrong", "x-forwarded-for": `192.0.2.${i}` }, remoteAddress: REMOTE });
    }
    expect(
      (await call({ method: "GET", url, headers: { ...auth, "x-forwarded-for": "192.0.2.99" }, remoteAddress: REMOTE })).statusCode,
    ).toBe(403);
  });
});

describe("health, readiness and metrics", () => {
  it("/healthz answers 200 without a key", async () => {
    const { call } = await harness();
    const response = await call({ method: "GET", url: "/healthz", remoteAddress: REMOTE });
    expect(errorOf(response)).toEqual({ status: 200, body: '{"status":"ok"}' });
  });

  it("/readyz answers 200 when every owned partition is live, else 503 with the per-partition states", async () => {
    const { call, ledger } = await harness();
    ledger.readiness = () => ({
      ready: true,
      partitions: [
        { partition: 0, state: "live" },
        { partition: 2, state: "live" },
      ],
    });
    expect(errorOf(await call({ method: "GET", url: "/readyz" }))).toEqual({
      status: 200,
      body: '{"ready":true,"partitions":[{"partition":0,"state":"live"},{"partition":2,"state":"live"}]}',
    });
    ledger.readiness = () => ({
      ready: false,
      partitions: [
        { partition: 0, state: "live" },
        { partition: 2, state: "restoring" },
      ],
    });
    expect(errorOf(await call({ method: "GET", url: "/readyz" }))).toEqual({
      status: 503,
      body: '{"ready":false,"partitions":[{"partition":0,"state":"live"},{"partition":2,"state":"restoring"}]}',
    });
  });

  it("/metrics serves the aggregator's registry in Prometheus text format", async () => {
    const { call, ledger } = await harness();
    ledger.add(record());
    ledger.add(record({ timestamp: ts("2026-01-10T15:00:00Z") }));
    const response = await call({ method: "GET", url: "/metrics" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe(ledger.metrics.contentType);
    expect(response.body).toContain("ledger_records_applied_total 2");
  });

  it("answers 500 {error: internal error} when the aggregator fails unexpectedly", async () => {
    const { call, ledger } = await harness();
    ledger.fleetStatistics = () => {
      throw new Error("bug");
    };
    expect(errorOf(await call({ method: "GET", url: "/v0/management/usage", headers: auth }))).toEqual({
      status: 500,
      body: '{"error":"internal error"}',
    });
  });

  it("answers unknown routes 404 {error: not found}", async () => {
    const { call } = await harness();
    for (const target of ["/nope", "/v0/management/nope", "/v0/management/usage/importx"]) {
      expect(errorOf(await call({ method: "GET", url: target, headers: auth }))).toEqual({ status: 404, body: '{"error":"not found"}' });
    }
    expect((await call({ method: "DELETE", url: "/v0/management/usage", headers: auth })).statusCode).toBe(404);
  });
});

describe("services/aggregator/README.md", () => {
  it("documents exactly the HTTP error codes", () => {
    const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    const documented = [...readme.matchAll(/^\| `(API_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...API_ERROR_CODES].sort());
  });
});
