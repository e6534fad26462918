import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { Registry } from "prom-client";
import { RequestStatistics } from "@usage-ledger/statistics";
import type { FastifyInstance, InjectOptions } from "fastify";
import { knownUsageStream } from "../../test/support/usage-stream";
import { referenceDetails, referenceRangeStart, referenceSince, referenceTotals } from "../../test/support/usage-reference";
import { createWebDashboard } from "../insights/web-dashboard";
import { DEFAULT_PRICES_FILE, loadPriceFile, memoryPriceBook } from "../prices/price-book";
import { buildApp } from "./app";
import { assetWeight, dashboardAssets } from "./dashboard-assets";
import { LEDGER_CONFIG } from "./compat-routes";
import { recentCsv } from "./ledger-routes";

const KEY = "dashboard-test-key";
const auth = { authorization: `Bearer ${KEY}` };
const NOW = Date.UTC(2026, 8, 1, 10, 20, 30);
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function harness(count = 600) {
  const statistics = new RequestStatistics();
  for (const record of knownUsageStream({ nowMs: NOW, count, seed: 9 })) statistics.apply(record);
  const ledger = {
    metrics: new Registry(),
    fleetStatistics: () => statistics,
    importSnapshot: async () => ({ added: 0, skipped: 0, totalRequests: 0, failedRequests: 0 }),
    readiness: () => ({ ready: true, partitions: [] }),
  };
  const prices = memoryPriceBook(loadPriceFile(DEFAULT_PRICES_FILE));
  const dashboard = createWebDashboard({ aggregator: ledger, prices, nowMillis: () => NOW });
  const app = await buildApp({
    aggregator: ledger,
    config: {
      managementKey: KEY,
      allowRemoteManagement: true,
      bodyLimitBytes: 1 << 20,
      build: { version: "1", commit: "c", buildDate: "2026-12-01T00:00:00Z" },
    },
    logger: pino({ level: "silent" }),
    nowMillis: () => NOW,
    dashboard,
  });
  apps.push(app);
  const call = (options: InjectOptions) => app.inject(options);
  const json = async <T>(url: string): Promise<T> => {
    const response = await call({ method: "GET", url, headers: auth });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<T>();
  };
  return { app, call, json, statistics, ledger };
}

describe("CORS, as CLIProxyAPI's management API", () => {
  it("answers any OPTIONS 204 before routing and auth, echoing the requested headers", async () => {
    const { call } = await harness(0);
    for (const url of ["/v0/management/config", "/v0/management/usage/import", "/nowhere"]) {
      const response = await call({
        method: "OPTIONS",
        url,
        headers: {
          origin: "http://elsewhere.test",
          "access-control-request-method": "GET",
          "access-control-request-headers": "authorization,content-type",
        },
      });
      expect(response.statusCode).toBe(204);
      expect(response.body).toBe("");
      expect(response.headers).toMatchObject({
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "access-control-allow-headers": "authorization,content-type",
        "access-control-expose-headers": "X-CPA-VERSION, X-CPA-COMMIT, X-CPA-BUILD-DATE",
      });
    }
  });

  it("puts the headers on answers, refusals and 404s alike", async () => {
    const { call } = await harness(0);
    const origin = { origin: "http://elsewhere.test" };
    const ok = await call({ method: "GET", url: "/v0/management/usage", headers: { ...auth, ...origin } });
    const refused = await call({ method: "GET", url: "/v0/management/usage", headers: origin });
    const missing = await call({ method: "GET", url: "/v0/management/nope", headers: { ...auth, ...origin } });
    expect([ok.statusCode, refused.statusCode, missing.statusCode]).toEqual([200, 401, 404]);
    for (const response of [ok, refused, missing]) {
      expect(response.headers["access-control-allow-origin"]).toBe("*");
      expect(response.headers["access-control-expose-headers"]).toBe("X-CPA-VERSION, X-CPA-COMMIT, X-CPA-BUILD-DATE");
    }
    expect(ok.headers["x-cpa-build-date"]).toBe("2026-12-01T00:00:00Z");
  });
});

describe("the Management Center's routes", () => {
  it("GET /config answers the ledger's configuration behind the key", async () => {
    const { call } = await harness(0);
    expect((await call({ method: "GET", url: "/v0/management/config" })).statusCode).toBe(401);
    const response = await call({ method: "GET", url: "/v0/management/config", headers: auth });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(LEDGER_CONFIG);
    expect(response.json<Record<string, unknown>>()["usage-statistics-enabled"]).toBe(true);
  });

  it("answers CLIProxyAPI's empty lists", async () => {
    const { json } = await harness(0);
    expect(await json("/v0/management/api-keys")).toEqual({ "api-keys": [] });
    expect(await json("/v0/management/auth-files")).toEqual({ files: [] });
    expect(await json("/v0/management/openai-compatibility")).toEqual({ "openai-compatibility": [] });
    expect(await json("/v0/management/claude-api-key")).toEqual({ "claude-api-key": [] });
  });
});

describe("ledger API v1", () => {
  it("overview: totals of the range, the cost at the default prices", async () => {
    const { json, statistics } = await harness();
    const all = referenceDetails(statistics.exportDetails());
    const table = loadPriceFile(DEFAULT_PRICES_FILE).models;
    for (const range of ["7h", "24h", "7d", "all"] as const) {
      const body = await json<{ totals: { requests: number; cost_usd: number }; feed: { details: number; pending: number } }>(
        `/v0/management/ledger/v1/overview?range=${range}`,
      );
      const expected = referenceTotals(referenceSince(all, referenceRangeStart(range, NOW)), table);
      expect(body.totals.requests).toBe(expected.requests);
      expect(body.totals.cost_usd).toBeCloseTo(expected.cost, 9);
      expect(body.feed).toEqual({ details: statistics.detailCount, pending: 0 });
    }
  });

  it("series, tables and requests answer within their bounds", async () => {
    const { json } = await harness();
    const series = await json<{ buckets: string[]; requests: number[]; models: unknown[] }>(
      "/v0/management/ledger/v1/series?range=7d&granularity=hour&utc_offset_minutes=-300",
    );
    expect(series.buckets).toHaveLength(168);
    const tables = await json<{ apis: Array<{ api: string }>; credentials: unknown[] }>("/v0/management/ledger/v1/tables?range=all");
    expect(tables.apis.length).toBeGreaterThan(3);
    const page = await json<{ rows: Array<{ timestamp: string }>; matching: number }>(
      "/v0/management/ledger/v1/requests?range=all&limit=7&status=failed",
    );
    expect(page.rows.length).toBe(Math.min(7, page.matching));
  });

  it("answers 400 for bad parameters", async () => {
    const { call } = await harness(0);
    const cases: Array<[string, string]> = [
      ["overview?range=1y", "invalid range"],
      ["overview?range=7h&range=24h", "invalid range"],
      ["series?granularity=minute", "invalid granularity"],
      ["series?utc_offset_minutes=1440", "invalid utc_offset_minutes"],
      ["series?utc_offset_minutes=abc", "invalid utc_offset_minutes"],
      ["requests?limit=0", "invalid limit"],
      ["requests?limit=2001", "invalid limit"],
      ["requests?offset=-1", "invalid offset"],
      ["requests?status=maybe", "invalid status"],
      ["requests?format=xml", "invalid format"],
    ];
    for (const [query, error] of cases) {
      const response = await call({ method: "GET", url: `/v0/management/ledger/v1/${query}`, headers: auth });
      expect({ query, status: response.statusCode, body: response.json<unknown>() }).toEqual({ query, status: 400, body: { error } });
    }
  });

  it("requests as CSV: a header row, quoted fields, no formula injection", () => {
    const csv = recentCsv([
      {
        timestamp: "2026-01-01T00:00:00Z",
        api: '=HYPERLINK("x")',
        model: "gpt-5, turbo",
        source: "a@b",
        auth_index: "0",
        failed: true,
        latency_ms: 12,
        tokens: { input: 1, output: 2, reasoning: 0, cached: 0, total: 3 },
        cost_usd: null,
      },
    ]);
    expect(csv).toBe(
      "timestamp,api,model,source,auth_index,failed,latency_ms,input_tokens,output_tokens,reasoning_tokens,cached_tokens,total_tokens,cost_usd\r\n" +
        `2026-01-01T00:00:00Z,"'=HYPERLINK(""x"")","gpt-5, turbo",a@b,0,true,12,1,2,0,0,3,\r\n`,
    );
  });
});

describe("prices", () => {
  it("shows the default table with its date and source, and edits change the cost", async () => {
    const { call, json } = await harness();
    const before = await json<{ origin: string; as_of: string; source: string; models: Record<string, unknown> }>(
      "/v0/management/ledger/v1/prices",
    );
    expect(before.origin).toBe("file");
    expect(before.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(before.source).toContain("@pydantic/genai-prices");
    expect(before.models["gpt-5"]).toEqual({ input: 1.25, output: 10, cached_input: 0.125 });
    const cost = async (): Promise<number> =>
      (await json<{ totals: { cost_usd: number } }>("/v0/management/ledger/v1/overview?range=all")).totals.cost_usd;
    const first = await cost();

    const post = await call({
      method: "POST",
      url: "/v0/management/ledger/v1/prices",
      headers: { ...auth, "content-type": "application/json" },
      payload: JSON.stringify({ models: { "qwen3-coder-plus": { input: 1, output: 5 }, "gpt-5": null } }),
    });
    expect(post.statusCode, post.body).toBe(200);
    const after = post.json<{ origin: string; models: Record<string, unknown> }>();
    expect(after.origin).toBe("topic");
    expect(after.models["qwen3-coder-plus"]).toEqual({ input: 1, output: 5, cached_input: 1 });
    expect(after.models["gpt-5"]).toBeUndefined();
    expect(await cost()).not.toBeCloseTo(first, 6);

    const put = await call({
      method: "PUT",
      url: "/v0/management/ledger/v1/prices",
      headers: auth,
      payload: JSON.stringify({ models: { "gpt-5": { input: 2, output: 20, cached_input: 0.2, reasoning: 1 } } }),
    });
    expect(put.json<{ models: Record<string, unknown> }>().models).toEqual({
      "gpt-5": { input: 2, output: 20, cached_input: 0.2, reasoning: 1 },
    });

    const reset = await call({ method: "DELETE", url: "/v0/management/ledger/v1/prices", headers: auth });
    expect(reset.json<{ origin: string }>().origin).toBe("file");
    expect(await cost()).toBeCloseTo(first, 9);
  });

  it("refuses bad tables with 400, naming each problem, and changes nothing", async () => {
    const { call, json } = await harness(0);
    const before = await json<unknown>("/v0/management/ledger/v1/prices");
    const bad: Array<["PUT" | "POST", string, RegExp]> = [
      ["PUT", "{", /^invalid json$/],
      [
        "PUT",
        JSON.stringify({ models: { "gpt-5": { input: -1, output: 1 } } }),
        /^invalid prices: models\.gpt-5\.input: must not be negative$/,
      ],
      ["PUT", JSON.stringify({ models: { "gpt-5": { input: "1", output: 1 } } }), /invalid prices: models\.gpt-5\.input: must be a number/],
      ["PUT", JSON.stringify({ models: { " padded": { input: 1, output: 1 } } }), /must not start or end with spaces/],
      ["PUT", JSON.stringify({ models: { x: { input: 1, output: 1, extra: 2 } } }), /invalid prices: /],
      ["PUT", JSON.stringify({ prices: {} }), /invalid prices: /],
      ["POST", JSON.stringify({ models: { x: { input: 1e9, output: 1 } } }), /must be at most 100000/],
      ["POST", JSON.stringify([]), /invalid prices: /],
    ];
    for (const [method, payload, error] of bad) {
      const response = await call({ method, url: "/v0/management/ledger/v1/prices", headers: auth, payload });
      expect(response.statusCode, payload).toBe(400);
      expect(response.json<{ error: string }>().error, payload).toMatch(error);
    }
    expect(await json<unknown>("/v0/management/ledger/v1/prices")).toEqual(before);
  });

  it("exports the cost per model as a Prometheus gauge at the prices in force", async () => {
    const { call, statistics } = await harness();
    const text = (await call({ method: "GET", url: "/metrics" })).body;
    const table = loadPriceFile(DEFAULT_PRICES_FILE).models;
    const gpt5 = referenceTotals(
      referenceDetails(statistics.exportDetails()).filter((detail) => detail.model === "gpt-5"),
      table,
    );
    const line = text.split("\n").find((entry) => entry.startsWith('usage_ledger_cost_usd{model="gpt-5"}'));
    expect(Number(line?.split(" ")[1])).toBeCloseTo(gpt5.cost, 9);
    expect(text).not.toContain('usage_ledger_cost_usd{model="qwen3-coder-plus"}');
  });
});

describe("the page", () => {
  it("serves the page without a key, under a strict policy, and its bundles cached by content", async () => {
    const { call } = await harness(0);
    const page = await call({ method: "GET", url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["cache-control"]).toBe("no-cache");
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    const links = [...page.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(links).toHaveLength(2);
    for (const link of links) {
      const file = await call({ method: "GET", url: link, headers: { "accept-encoding": "gzip, br" } });
      expect(file.statusCode).toBe(200);
      expect(file.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect(file.headers["content-encoding"]).toBe("gzip");
      expect(gunzipSync(file.rawPayload).length).toBeGreaterThan(1000);
      const again = await call({ method: "GET", url: link, headers: { "if-none-match": String(file.headers.etag) } });
      expect(again.statusCode).toBe(304);
    }
    expect((await call({ method: "GET", url: "/assets/nope.js" })).statusCode).toBe(404);
  });

  it("services/aggregator/README.md states the page's weight", async () => {
    const assets = await dashboardAssets();
    const weight = assetWeight(assets);
    const kb = (bytes: number): string => `${(bytes / 1000).toFixed(1)} kB`;
    const script = [...assets.files.entries()].find(([path]) => path.endsWith(".js"))![1];
    const style = [...assets.files.entries()].find(([path]) => path.endsWith(".css"))![1];
    const text =
      `**Weight**: ${kb(weight.bytes)} in all (${kb(weight.gzipBytes)} gzipped): the page ${kb(assets.page.body.length)}, ` +
      `one script ${kb(script.body.length)} (${kb(script.gzip.length)} gzipped) with uPlot 1.6.32 bundled in, ` +
      `one stylesheet ${kb(style.body.length)} (${kb(style.gzip.length)} gzipped). Nothing else is loaded: no CDN, no font, no request outside the ledger.`;
    const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    expect(readme).toContain(`<!-- dashboard-weight:start -->\n${text}\n<!-- dashboard-weight:end -->`);
  });
});
