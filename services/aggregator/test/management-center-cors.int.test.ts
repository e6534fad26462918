import { createServer } from "node:http";
import type { Server } from "node:http";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser } from "playwright-core";
import type { FastifyInstance } from "fastify";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import type { StatisticsSnapshot } from "@usage-ledger/statistics";
import { buildApp } from "../src/http/app";
import { launchChromium } from "./support/browser";
import { aggregatorOptions, caughtUp, eventually, startAggregator, testLogger, useTestTopics } from "./support/harness";
import type { RunningAggregator } from "./support/harness";
import { groundTruth, makeRecords, publishRecords } from "./support/records";

const brokers = inject("kafkaBrokers");
const KEY = "management-center-key";

/**
 * What the old Management Center does when a user logs in and opens its Usage page, as a page on
 * its own origin: every call carries `Authorization: Bearer` (so the browser preflights it), the
 * login check is `GET /config`, the version comes from the exposed response headers, then `GET
 * /usage`, and `POST /usage/import` with a JSON body. The results land in `window.results`.
 */
function managementCenterPage(api: string, key: string, importBody: string): string {
  const script = `
    const api = ${JSON.stringify(`${api}/v0/management`)};
    async function call(method, path, key, body) {
      try {
        const headers = key === undefined ? {} : { Authorization: "Bearer " + key };
        if (body !== undefined) headers["Content-Type"] = "application/json";
        const response = await fetch(api + path, { method, headers, body });
        return {
          status: response.status,
          body: await response.json(),
          version: response.headers.get("X-CPA-VERSION"),
          buildDate: response.headers.get("X-CPA-BUILD-DATE"),
        };
      } catch (error) {
        return { error: String(error) };
      }
    }
    (async () => {
      const results = {};
      results.configWithoutKey = await call("GET", "/config");
      results.config = await call("GET", "/config", ${JSON.stringify(key)});
      results.buildDateShown = new Date(results.config.buildDate).toString();
      results.usage = await call("GET", "/usage", ${JSON.stringify(key)});
      results.importWithoutKey = await call("POST", "/usage/import", undefined, ${JSON.stringify(importBody)});
      results.importWrongKey = await call("POST", "/usage/import", "wrong", ${JSON.stringify(importBody)});
      results.import = await call("POST", "/usage/import", ${JSON.stringify(key)}, ${JSON.stringify(importBody)});
      window.results = results;
    })();
  `;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Management Center</title></head><body><script>${script}</script></body></html>`;
}

interface CallResult {
  status?: number;
  body?: unknown;
  version?: string | null;
  buildDate?: string | null;
  error?: string;
}

describe("the old Management Center from another origin (issue 17, acceptance 4)", () => {
  let running: RunningAggregator | undefined;
  let app: FastifyInstance | undefined;
  let page: Server | undefined;
  let browser: Browser | undefined;
  const { topics, admin } = useTestTopics(brokers, "management-center", async () => {
    await browser?.close();
    await new Promise((resolve) => page?.close(resolve) ?? resolve(undefined));
    await app?.close();
    await running?.aggregator.stop();
  });
  const seeded = makeRecords({ count: 300, seed: 77, tag: "seeded-" });
  const imported = makeRecords({ count: 40, seed: 78, tag: "imported-", startEpochSeconds: 1_770_000_000 });
  let apiUrl = "";
  let pageUrl = "";

  beforeAll(async () => {
    running = await startAggregator(aggregatorOptions(brokers, topics, { instanceId: "mc-a", groupId: uniqueName("mc") }));
    await publishRecords({ brokers, topic: topics.recordsTopic, records: seeded });
    await eventually("the seeded records applied", () => caughtUp(admin, topics.recordsTopic, [running!.aggregator]));
    app = await buildApp({
      aggregator: running.aggregator,
      config: {
        managementKey: KEY,
        allowRemoteManagement: true,
        bodyLimitBytes: 64 << 20,
        build: { version: "0.1.0", commit: "abc1234", buildDate: "2026-12-01T08:30:00Z" },
      },
      logger: testLogger("mc-a"),
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    apiUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const importBody = JSON.stringify({ version: 1, usage: groundTruth(imported).snapshot() });
    // The page's own origin: another host name and port than the API's.
    page = createServer((_request, response) => {
      response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      response.end(managementCenterPage(apiUrl, KEY, importBody));
    });
    await new Promise<void>((resolve) => page!.listen(0, "127.0.0.1", resolve));
    pageUrl = `http://localhost:${(page.address() as { port: number }).port}/`;
    browser = await launchChromium();
  });

  it("OPTIONS answers 204 with CLIProxyAPI's CORS headers, before the key is checked", async () => {
    const response = await fetch(`${apiUrl}/v0/management/config`, {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:1", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization" },
    });
    expect(response.status).toBe(204);
    expect(Object.fromEntries([...response.headers].filter(([name]) => name.startsWith("access-control-")))).toEqual({
      "access-control-allow-origin": "*",
      "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
      "access-control-allow-headers": "authorization",
      "access-control-expose-headers": "X-CPA-VERSION, X-CPA-COMMIT, X-CPA-BUILD-DATE",
      "access-control-max-age": "600",
    });
    const get = await fetch(`${apiUrl}/v0/management/usage`, { headers: { Origin: "http://localhost:1", Authorization: `Bearer ${KEY}` } });
    expect(get.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("a page on another origin logs in, reads the usage and imports with the key, and is refused without it", async () => {
    const tab = await browser!.newPage();
    await tab.goto(pageUrl);
    await tab.waitForFunction("window.results !== undefined", undefined, { timeout: 60_000 });
    const results = await tab.evaluate<Record<string, CallResult | string>>("window.results");
    const result = (name: string): CallResult => results[name] as CallResult;

    expect(result("configWithoutKey")).toMatchObject({ status: 401, body: { error: "missing management key" } });
    expect(result("config")).toMatchObject({ status: 200, version: "0.1.0", buildDate: "2026-12-01T08:30:00Z" });
    expect(result("config").body).toMatchObject({ "usage-statistics-enabled": true, debug: false });
    expect(results.buildDateShown).not.toBe("Invalid Date");

    const usage = result("usage");
    expect(usage.status).toBe(200);
    const expected = groundTruth(seeded).totals();
    expect((usage.body as { usage: StatisticsSnapshot }).usage.total_requests).toBe(expected.totalRequests);
    expect((usage.body as { failed_requests: number }).failed_requests).toBe(expected.failureCount);

    expect(result("importWithoutKey")).toMatchObject({ status: 401, body: { error: "missing management key" } });
    expect(result("importWrongKey")).toMatchObject({ status: 401, body: { error: "invalid management key" } });
    expect(result("import")).toMatchObject({ status: 200, body: { added: imported.length, skipped: 0 } });
    await eventually("the import applied", () => caughtUp(admin, topics.recordsTopic, [running!.aggregator]));
    expect(running!.aggregator.fleetStatistics().totals().totalRequests).toBe(seeded.length + imported.length);
    await tab.close();
  });
});
