import { Gauge } from "prom-client";
import type { Registry } from "prom-client";
import type { RequestStatistics } from "@usage-ledger/statistics";
import { DEFAULT_PRICES_FILE, loadPriceFile, memoryPriceBook } from "../prices/price-book";
import type { PriceBook } from "../prices/price-book";
import { cellCost } from "../prices/price-table";
import { InsightsFeed } from "./insights-feed";
import { modelTotals } from "./insight-queries";

/** What the web dashboard serves from: the aggregates of the fleet's details and the fleet's prices. */
export interface WebDashboard {
  readonly feed: InsightsFeed;
  readonly prices: PriceBook;
  /** Stops the background catch-up. */
  stop(): void;
}

/** Options of {@link createWebDashboard}. */
export interface WebDashboardOptions {
  /** The aggregator's fleet view and metrics registry. */
  readonly aggregator: { fleetStatistics(): RequestStatistics; readonly metrics: Registry };
  /** The fleet's prices; default: the shipped default table, in memory only. */
  readonly prices?: PriceBook;
  readonly nowMillis?: () => number;
  /** Keep the aggregates current in the background this often (ms); default: only when asked. */
  readonly backgroundIntervalMs?: number;
}

/** The cost metric's name (documented with the aggregator's metrics). */
export const COST_METRIC = "usage_ledger_cost_usd";

/**
 * Creates the web dashboard's backend: an {@link InsightsFeed} over the aggregator's fleet view,
 * the price book, and the Prometheus gauge `usage_ledger_cost_usd{model}` (the cost of every
 * detail held, per model, at the prices in force; a gauge because an edited price changes it).
 */
export function createWebDashboard(options: WebDashboardOptions): WebDashboard {
  const { aggregator } = options;
  const feed = new InsightsFeed({
    source: () => aggregator.fleetStatistics(),
    ...(options.nowMillis === undefined ? {} : { nowMillis: options.nowMillis }),
  });
  const prices = options.prices ?? memoryPriceBook(loadPriceFile(DEFAULT_PRICES_FILE));
  // One gauge per registry: a second dashboard on the same aggregator (tests) takes it over.
  aggregator.metrics.removeSingleMetric(COST_METRIC);
  new Gauge({
    name: COST_METRIC,
    help: "Estimated cost in USD of every request the ledger holds, per model, at the prices in force (models without a price are left out).",
    labelNames: ["model"],
    registers: [aggregator.metrics],
    collect() {
      this.reset();
      const table = prices.current().table;
      for (const { model, cell } of modelTotals(feed.insights())) {
        const price = table.models.get(model);
        if (price !== undefined) this.set({ model }, cellCost(cell, price));
      }
    },
  });
  if (options.backgroundIntervalMs !== undefined) feed.start(options.backgroundIntervalMs);
  return { feed, prices, stop: () => feed.stop() };
}
