import { mkdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { FastifyInstance } from "fastify";
import { repositoryRoot } from "@usage-ledger/kafka-broker";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { startWebDashboard } from "../src/insights/start-web-dashboard";
import type { StartedWebDashboard } from "../src/insights/start-web-dashboard";
import { buildApp } from "../src/http/app";
import { DEFAULT_PRICES_FILE, loadPriceFile } from "../src/prices/price-book";
import type { ModelPrice } from "../src/prices/price-table";
import { launchChromium } from "./support/browser";
import { aggregatorOptions, caughtUp, eventually, startAggregator, testLogger, useTestTopics } from "./support/harness";
import type { RunningAggregator } from "./support/harness";
import { sortedDetails, sortedSnapshotOf } from "./support/http";
import { publishRecords } from "./support/records";
import { detailsOf, knownUsageStream } from "./support/usage-stream";
import { referenceDetails, referenceGroups, referenceRangeStart, referenceSince, referenceTotals } from "./support/usage-reference";
import type { ReferenceDetail } from "./support/usage-reference";

const brokers = inject("kafkaBrokers");
const KEY = "browser-test-key";
/** `LEDGER_UPDATE_SCREENSHOTS=1` writes the README's screenshots; otherwise they go to a temp folder. */
const SCREENSHOTS =
  process.env.LEDGER_UPDATE_SCREENSHOTS === "1"
    ? join(repositoryRoot, "docs", "screenshots")
    : join(tmpdir(), uniqueName("ledger-screenshots"));

/** One aggregator with its web dashboard and HTTP server on a free port. */
interface Served {
  readonly running: RunningAggregator;
  readonly web: StartedWebDashboard;
  readonly app: FastifyInstance;
  readonly url: string;
  stop(): Promise<void>;
}

describe("the web dashboard in Chromium (issue 17, acceptance 1 and 3)", () => {
  let served: Served | undefined;
  let browser: Browser | undefined;
  const fixture = useTestTopics(brokers, "dashboard-browser", async () => {
    await browser?.close();
    await served?.stop();
  });
  const { topics, admin } = fixture;
  const groupId = uniqueName("dashboard-browser");
  const pricesTopic = `${topics.recordsTopic}.prices`;
  const nowMs = Date.now();
  const records = knownUsageStream({ nowMs, count: 2500, seed: 1717 });
  const { statistics: expectedStatistics, details } = detailsOf(records);
  const all = referenceDetails(details);
  const defaults = loadPriceFile(DEFAULT_PRICES_FILE).models;

  async function serve(instanceId: string): Promise<Served> {
    const running = await startAggregator(aggregatorOptions(brokers, topics, { instanceId, groupId }));
    const logger = testLogger(instanceId);
    const web = await startWebDashboard({
      brokers,
      clientId: instanceId,
      pricesFile: undefined,
      pricesTopic,
      aggregator: running.aggregator,
      logger,
    });
    const app = await buildApp({
      aggregator: running.aggregator,
      config: {
        managementKey: KEY,
        allowRemoteManagement: true,
        bodyLimitBytes: 64 << 20,
        build: { version: "test", commit: "none", buildDate: "2026-12-01T00:00:00Z" },
      },
      logger,
      dashboard: web.dashboard,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const port = (app.server.address() as { port: number }).port;
    return {
      running,
      web,
      app,
      url: `http://127.0.0.1:${port}/`,
      async stop() {
        await app.close();
        await web.stop();
        await running.aggregator.stop();
      },
    };
  }

  beforeAll(async () => {
    served = await serve("dashboard-a");
    await publishRecords({ brokers, topic: topics.recordsTopic, records });
    const aggregator = served.running.aggregator;
    await eventually("every record applied", () => caughtUp(admin, topics.recordsTopic, [aggregator]));
    expect(aggregator.fleetStatistics().detailCount).toBe(expectedStatistics.detailCount);
    browser = await launchChromium();
  });

  /** The given attributes of every element matching `selector`, in document order (read in the page). */
  async function attributes(page: Page, selector: string, names: readonly string[]): Promise<string[][]> {
    return page.evaluate<string[][]>(
      `[...document.querySelectorAll(${JSON.stringify(selector)})].map((element) => ${JSON.stringify(names)}.map((name) => element.getAttribute(name) ?? ""))`,
    );
  }

  async function signIn(page: Page, url: string): Promise<void> {
    await page.goto(url);
    await page.fill("[data-testid=key-input]", KEY);
    await page.click("[data-testid=login]");
    await page.waitForSelector("[data-testid=card-requests][data-value]");
  }

  /** Waits until the requests card shows `count` (the page refreshed after a click), then reads every card. */
  async function cards(page: Page, count: number): Promise<Record<string, number>> {
    await page.waitForSelector(`[data-testid=card-requests][data-value="${count}"]`, { timeout: 30_000 });
    const shown = await attributes(page, "[data-testid^=card-][data-value]", ["data-testid", "data-value"]);
    return Object.fromEntries(shown.map(([id, value]) => [id ?? "", Number(value)] as const));
  }

  function expectCards(shown: Record<string, number>, inRange: readonly ReferenceDetail[], prices: ReadonlyMap<string, ModelPrice>): void {
    const totals = referenceTotals(inRange, prices);
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const rate = referenceTotals(referenceSince(all, minute - 29 * 60_000), prices);
    expect(shown).toMatchObject({
      "card-requests": totals.requests,
      "card-requests-success": totals.requests - totals.failure,
      "card-requests-failure": totals.failure,
      "card-tokens": totals.tokens,
      "card-tokens-cached": totals.cached,
      "card-tokens-reasoning": totals.reasoning,
      "card-rpm-requests": rate.requests,
      "card-tpm-tokens": rate.tokens,
      "card-latency-samples": totals.latencySamples,
    });
    expect(shown["card-rpm"]).toBeCloseTo(rate.requests / 30, 9);
    expect(shown["card-tpm"]).toBeCloseTo(rate.tokens / 30, 9);
    expect(shown["card-cost"]).toBeCloseTo(totals.cost, 9);
    expect(shown["card-latency"]).toBeCloseTo(totals.latencySum / totals.latencySamples, 6);
  }

  async function legend(page: Page, chart: string): Promise<Record<string, number>> {
    const items = await attributes(page, `[data-testid=chart-${chart}] [data-testid=legend-item]`, ["data-label", "data-total"]);
    return Object.fromEntries(items.map(([label, total]) => [label ?? "", Number(total)] as const));
  }

  it("refuses a wrong key, then shows every card, chart and table with the numbers of the known stream; the range switch changes them", async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(served!.url);
    await page.fill("[data-testid=key-input]", "not-the-key");
    await page.click("[data-testid=login]");
    await page.waitForSelector("[data-testid=login-error]:not(:empty)");
    expect(await page.textContent("[data-testid=login-error]")).toContain("invalid management key");
    expect(await page.evaluate("sessionStorage.length")).toBe(0);

    await page.fill("[data-testid=key-input]", KEY);
    await page.click("[data-testid=login]");
    for (const range of ["24h", "7h", "7d", "all"] as const) {
      await page.click(`[data-testid=range-${range}]`);
      const inRange = referenceSince(all, referenceRangeStart(range, Date.now()));
      expectCards(await cards(page, inRange.length), inRange, defaults);

      const totals = referenceTotals(inRange, defaults);
      const perModel = referenceGroups(inRange, (detail) => detail.model, defaults);
      await page.waitForSelector(`[data-testid=chart-requests] [data-label="all models"][data-total="${totals.requests}"]`);
      const requestsLegend = await legend(page, "requests");
      expect(requestsLegend["all models"]).toBe(totals.requests);
      for (const [model, total] of Object.entries(requestsLegend))
        if (model !== "all models") expect(total, model).toBe(perModel.get(model)?.requests);
      const tokensLegend = await legend(page, "tokens");
      expect(tokensLegend["all models"]).toBe(totals.tokens);
      const breakdown = await legend(page, "breakdown");
      expect(breakdown).toMatchObject({
        "cached input": totals.cached,
        reasoning: totals.reasoning,
        output: totals.output,
        "input (uncached)": totals.input - totals.cached,
      });
      expect((await legend(page, "cost")).cost).toBeCloseTo(totals.cost, 9);

      const apiKeys = await attributes(page, "[data-testid=api-row]", ["data-key"]);
      const apiRequests = await attributes(page, "[data-testid=api-row] td:nth-child(2)", ["data-value"]);
      const apiRows = apiKeys.map(([api], index) => [api, Number(apiRequests[index]?.[0])] as const);
      const perApi = referenceGroups(inRange, (detail) => detail.api, defaults);
      expect(new Map(apiRows)).toEqual(new Map([...perApi].map(([api, t]) => [api, t.requests])));
      const credentialRows = (await attributes(page, "[data-testid=credential-row]", ["data-key"])).map(([key]) => key);
      expect(credentialRows.sort()).toEqual([...referenceGroups(inRange, (d) => `${d.source}|${d.authIndex}`, defaults).keys()].sort());
      const matching = Number(await page.getAttribute("[data-testid=requests-table]", "data-matching"));
      // The table holds the newest 2,000 requests by timestamp; the range's are the newest ones.
      expect(matching).toBe(Math.min(inRange.length, 2000));
      expect(await page.locator("[data-testid=request-row]").count()).toBe(Math.min(25, matching));
    }

    // The health grid: the last 7 days of 15-minute blocks.
    const blocks = (await attributes(page, "[data-testid=health-grid] [data-state]", ["data-success", "data-failure", "data-state"])).map(
      ([success, failure, state]) => [Number(success), Number(failure), state] as const,
    );
    expect(blocks).toHaveLength(672);
    const gridStart = Math.floor(Date.now() / 900_000) * 900_000 - 671 * 900_000;
    const inGrid = referenceSince(all, gridStart);
    expect(blocks.reduce((sum, [success]) => sum + success, 0)).toBe(inGrid.filter((detail) => !detail.failed).length);
    expect(blocks.reduce((sum, [, failure]) => sum + failure, 0)).toBe(inGrid.filter((detail) => detail.failed).length);
    for (const [success, failure, state] of blocks) {
      expect(state).toBe(success + failure === 0 ? "idle" : failure === 0 ? "success" : success === 0 ? "failure" : "mixed");
    }
    await page.close();
  });

  it("export downloads the seed's JSON: exactly the statistics of the stream", async () => {
    const page = await browser!.newPage();
    await signIn(page, served!.url);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=export-usage]")]);
    const file = await download.path();
    const exported = JSON.parse(readFileSync(file, "utf8")) as { version: number; usage: Parameters<typeof sortedDetails>[0] };
    expect(exported.version).toBe(1);
    expect(sortedDetails(exported.usage)).toEqual(sortedSnapshotOf(expectedStatistics));
    await page.close();
  });

  it("prices edited on the page change the cost shown and survive a restart", async () => {
    let page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, served!.url);
    await page.click("[data-testid=range-all]");
    await cards(page, all.length);
    const row = page.locator("[data-testid=price-row][data-model='gpt-5']");
    await row.locator("input[data-field=input]").fill("3");
    await row.locator("input[data-field=output]").fill("30");
    await row.locator("input[data-field=cached_input]").fill("0.5");
    const unpriced = page.locator("[data-testid=price-row][data-model='qwen3-coder-plus']");
    await unpriced.locator("input[data-field=input]").fill("0.7");
    await unpriced.locator("input[data-field=output]").fill("2.8");
    await page.click("[data-testid=save-prices]");
    await page.locator("[data-testid=prices-status]", { hasText: /^Saved 2 / }).waitFor();
    const edited = new Map(defaults);
    edited.set("gpt-5", { input: 3, output: 30, cachedInput: 0.5, reasoning: undefined });
    edited.set("qwen3-coder-plus", { input: 0.7, output: 2.8, cachedInput: 0.7, reasoning: undefined });
    const expectedCost = referenceTotals(all, edited).cost;
    await page.waitForFunction(
      `Math.abs(Number(document.querySelector("[data-testid=card-cost]")?.getAttribute("data-value")) - ${expectedCost}) < 1e-6`,
    );
    expect(Number(await page.getAttribute("[data-testid=card-cost-unpriced]", "data-value"))).toBe(0);
    await page.close();

    // A restart of the whole instance: the edited table comes back from the price topic.
    await served!.stop();
    served = await serve("dashboard-b");
    await eventually(
      "the restarted instance holds the stream again",
      () => served!.running.aggregator.fleetStatistics().detailCount === all.length,
    );
    page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, served.url);
    await page.click("[data-testid=range-all]");
    const shown = await cards(page, all.length);
    expect(shown["card-cost"]).toBeCloseTo(expectedCost, 9);
    expect(await page.inputValue("[data-testid=price-row][data-model='gpt-5'] input[data-field=input]")).toBe("3");
    expect(await page.textContent("[data-testid=prices-info]")).toContain("edited for the fleet");
    await page.close();
  });

  it("screenshots: light and dark, desktop and phone", async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const scheme of ["light", "dark"] as const) {
      for (const [device, width, height] of [
        ["desktop", 1280, 1800],
        ["phone", 390, 2400],
      ] as const) {
        const page = await browser!.newPage({ viewport: { width, height: 900 }, colorScheme: scheme, deviceScaleFactor: 1 });
        await signIn(page, served!.url);
        await page.click("[data-testid=range-7d]");
        await cards(page, referenceSince(all, referenceRangeStart("7d", Date.now())).length);
        await page.waitForSelector("[data-testid=chart-cost] canvas");
        expect(await page.evaluate("document.documentElement.dataset.theme")).toBe(scheme);
        const path = join(SCREENSHOTS, `dashboard-${scheme}-${device}.png`);
        await page.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width, height } });
        expect(statSync(path).size).toBeGreaterThan(20_000);
        await page.close();
      }
    }
  });
});
