import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { Registry } from "prom-client";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";
import { allocateDetailColumns, RequestStatistics } from "@usage-ledger/statistics";
import { buildApp, createWebDashboard } from "@usage-ledger/aggregator";
import { replaceOtherBench } from "./benchmarks-md";
import { measured, resultsDir, seededRandom, writeResults } from "./harness";
import type { ResultRow } from "./harness";

/**
 * `pnpm bench:dashboard` (also run by `pnpm bench`): the web dashboard with 10,000,000 details held
 * (issue 17, acceptance 2). The details go straight into the fleet view, a `RequestStatistics`
 * (`mergeDetails`, not through Kafka: the dashboard reads the fleet view, and how it got filled does
 * not change what the page costs); the real HTTP app (`buildApp`, the ledger API, the built page)
 * serves it on a local port. Then, untimed, the dashboard's aggregates catch up with the 10M details
 * (`dashboard_catch_up_ms` reports how long that takes after a start with that much held). Timed:
 * headless Chromium (Debian's) opens the page with the key already in the tab's session, from a
 * fresh browser context each run (nothing cached), until the requests card shows its number
 * (`page_first_numbers_ms`, from navigation start, the page's own clock). Every response the page
 * loads is weighed (`largest_api_response_bytes`: the largest JSON body of the ledger API;
 * `page_bytes_transferred`: all of it as sent, gzip included), and each ledger API view is timed
 * on its own at the largest range (`api_*_ms`).
 */

const FULL_DETAILS = 10_000_000;
const QUICK_DETAILS = 1_000_000;
const RUNS = 5;
const KEY = "bench-key";
const CHUNK = 1_000_000;
const DAYS = 30;

const MODELS = [
  "gpt-5",
  "gpt-5-mini",
  "claude-sonnet-4-5",
  "claude-haiku-4-5",
  "gemini-2.5-pro",
  "gemini-2.5-flash",
  "qwen3-coder-plus",
  "glm-4.6",
];

/** `count` distinct details over the last 30 days: 200 API keys, 8 models, 24 credentials, 4 offsets. */
function fill(statistics: RequestStatistics, count: number, nowSeconds: number): void {
  const random = seededRandom(20261205);
  const apiKeys = Array.from({ length: 200 }, (_, i) => `sk-client-${String(i).padStart(4, "0")}-${(i * 2_654_435_761).toString(36)}`);
  const sources = Array.from({ length: 12 }, (_, i) => `account${String(i)}@example.com`);
  const strings = [...apiKeys, ...MODELS, ...sources, "0", "1"];
  const modelAt = apiKeys.length;
  const sourceAt = modelAt + MODELS.length;
  const authAt = sourceAt + sources.length;
  const first = nowSeconds - DAYS * 86_400;
  const step = (DAYS * 86_400) / count;
  for (let from = 0; from < count; from += CHUNK) {
    const rows = Math.min(CHUNK, count - from);
    const columns = allocateDetailColumns(rows, strings);
    for (let i = 0; i < rows; i++) {
      const index = from + i;
      columns.api[i] = Math.floor(random() ** 2 * apiKeys.length);
      columns.model[i] = modelAt + Math.floor(random() ** 1.5 * MODELS.length);
      columns.source[i] = sourceAt + Math.floor(random() * sources.length);
      columns.authIndex[i] = authAt + (index & 1);
      const at = first + index * step;
      columns.epochSeconds[i] = Math.floor(at);
      columns.nanos[i] = Math.floor((at % 1) * 1e9);
      columns.offsetSeconds[i] = [0, 28_800, -18_000, 19_800][index & 3]!;
      columns.failed[i] = random() < 0.03 ? 1 : 0;
      columns.latencyMs[i] = 200 + Math.floor(random() * 5_000);
      const input = 50 + Math.floor(random() * 4_000);
      columns.inputTokens[i] = input;
      columns.outputTokens[i] = 20 + Math.floor(random() * 900);
      columns.reasoningTokens[i] = Math.floor(random() * 300);
      columns.cachedTokens[i] = random() < 0.4 ? Math.floor(random() * input) : 0;
      columns.totalTokens[i] = 0;
    }
    statistics.mergeDetails(columns);
  }
}

function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.LEDGER_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Runs the benchmark and writes bench/results/dashboard.json and its BENCHMARKS.md section. */
export async function benchDashboard(quick: boolean): Promise<void> {
  const details = quick ? QUICK_DETAILS : FULL_DETAILS;
  const load = loadavg();
  const log = (line: string): void => console.log(`[bench:dashboard] ${line}`);
  const statistics = new RequestStatistics({ initialCapacity: details });
  let started = performance.now();
  fill(statistics, details, Math.floor(Date.now() / 1000));
  const fillMs = performance.now() - started;
  log(`${details.toLocaleString("en-US")} details in the fleet view (${Math.round(fillMs)} ms, untimed)`);
  const ledger = {
    metrics: new Registry(),
    fleetStatistics: () => statistics,
    importSnapshot: () => Promise.reject(new Error("no import in this benchmark")),
    readiness: () => ({ ready: true, partitions: [] }),
  };
  const dashboard = createWebDashboard({ aggregator: ledger });
  started = performance.now();
  await dashboard.feed.caughtUp();
  const catchUpMs = performance.now() - started;
  log(`aggregates caught up in ${Math.round(catchUpMs)} ms`);
  const app = await buildApp({
    aggregator: ledger,
    config: {
      managementKey: KEY,
      allowRemoteManagement: true,
      bodyLimitBytes: 1 << 20,
      build: { version: "bench", commit: "none", buildDate: "unknown" },
    },
    logger: pino({ level: "silent" }),
    dashboard,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const browser = await launch();
  try {
    const firstNumbers: number[] = [];
    const largestApi: number[] = [];
    const transferred: number[] = [];
    for (let run = 0; run < RUNS + 1; run++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript({
        content: `sessionStorage.setItem("usage-ledger.management-key", ${JSON.stringify(KEY)}); localStorage.setItem("usage-ledger.range", "all");`,
      });
      const page = await context.newPage();
      let largest = 0;
      let bytes = 0;
      const weighed: Array<Promise<void>> = [];
      page.on("response", (response) => {
        weighed.push(
          (async () => {
            const size = Number(response.headers()["content-length"] ?? NaN);
            const body = await response.body().catch(() => Buffer.alloc(0));
            bytes += Number.isFinite(size) ? size : body.length;
            if (response.url().includes("/v0/management/")) largest = Math.max(largest, body.length);
          })(),
        );
      });
      await page.goto(`${base}/`);
      const shownAt = await page.waitForFunction(
        `document.querySelector("[data-testid=card-requests]")?.getAttribute("data-value") ? performance.now() : 0`,
        undefined,
        { timeout: 60_000, polling: "raf" },
      );
      const ms = (await shownAt.jsonValue()) as number;
      await page.waitForSelector("[data-testid=request-row]", { timeout: 60_000 });
      await Promise.all(weighed);
      await context.close();
      if (run === 0) continue; // warm-up: the server's first requests
      firstNumbers.push(ms);
      largestApi.push(largest);
      transferred.push(bytes);
      log(`run ${run}: first numbers at ${Math.round(ms)} ms, largest API response ${largest} bytes, ${bytes} bytes transferred`);
    }
    const timeView = async (path: string): Promise<number[]> => {
      const runs: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const start = performance.now();
        const response = await fetch(`${base}/v0/management/ledger/v1/${path}`, { headers: { authorization: `Bearer ${KEY}` } });
        await response.arrayBuffer();
        runs.push(performance.now() - start);
      }
      return runs;
    };
    const rows: ResultRow[] = [
      {
        key: "page_first_numbers_ms",
        value: measured(firstNumbers),
        unit: "ms (navigation start to the requests card)",
        target: "< 2,000",
      },
      { key: "largest_api_response_bytes", value: measured(largestApi), unit: "bytes (JSON body)", target: "< 1,048,576" },
      { key: "page_bytes_transferred", value: measured(transferred), unit: "bytes (page, bundles, API; as sent)" },
      {
        key: "dashboard_catch_up_ms",
        value: measured([catchUpMs]),
        unit: `ms (aggregating ${details.toLocaleString("en-US")} details once, untimed in the page figures)`,
      },
      { key: "api_overview_all_ms", value: measured(await timeView("overview?range=all")), unit: "ms" },
      { key: "api_series_all_day_ms", value: measured(await timeView("series?range=all&granularity=day")), unit: "ms" },
      { key: "api_series_7d_hour_ms", value: measured(await timeView("series?range=7d&granularity=hour")), unit: "ms" },
      { key: "api_tables_7d_ms", value: measured(await timeView("tables?range=7d")), unit: "ms" },
      { key: "api_tables_all_ms", value: measured(await timeView("tables?range=all")), unit: "ms" },
      { key: "api_requests_all_ms", value: measured(await timeView("requests?range=all&limit=25")), unit: "ms" },
    ];
    writeResults(
      "dashboard",
      rows,
      {
        details,
        quick,
        method:
          "details merged straight into the fleet view (RequestStatistics.mergeDetails), not through Kafka; the real HTTP app and page; Debian's Chromium, headless",
        load_average: { start: load, end: loadavg() },
      },
      quick ? join(resultsDir, "quick") : resultsDir,
    );
    if (!quick) replaceOtherBench("dashboard", "pnpm bench:dashboard");
  } finally {
    await browser.close();
    await app.close();
    dashboard.stop();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick =
    process.argv.includes("--quick") ||
    (process.env.BENCH_QUICK !== undefined && process.env.BENCH_QUICK !== "" && process.env.BENCH_QUICK !== "0");
  await benchDashboard(quick);
}
