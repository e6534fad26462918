import { Kafka } from "kafkajs";
import type { Logger } from "pino";
import { kafkaLogCreator, kafkaLogLevelFor } from "@usage-ledger/kafka-contract";
import { DEFAULT_PRICES_FILE, loadPriceFile } from "../prices/price-book";
import { startPriceStore } from "../prices/price-store";
import { createWebDashboard } from "./web-dashboard";
import type { WebDashboard, WebDashboardOptions } from "./web-dashboard";

/** Options of {@link startWebDashboard}. */
export interface StartWebDashboardOptions {
  readonly brokers: string[];
  readonly clientId: string;
  /** The price file; undefined = the shipped default table. */
  readonly pricesFile: string | undefined;
  readonly pricesTopic: string;
  readonly aggregator: WebDashboardOptions["aggregator"];
  readonly logger: Logger;
  /** How often the aggregates catch up in the background (ms); default 1,000. */
  readonly backgroundIntervalMs?: number;
}

/** A started web dashboard; `stop()` ends its background work and its price-topic follower. */
export interface StartedWebDashboard {
  readonly dashboard: WebDashboard;
  stop(): Promise<void>;
}

/**
 * The web dashboard as the main command runs it: the price file loaded and checked (a bad file
 * stops the start with each problem named), the fleet's price book on its compacted topic, and the
 * aggregates kept current in the background.
 */
export async function startWebDashboard(options: StartWebDashboardOptions): Promise<StartedWebDashboard> {
  const fileTable = loadPriceFile(options.pricesFile ?? DEFAULT_PRICES_FILE);
  const kafka = new Kafka({
    clientId: `${options.clientId}-prices`,
    brokers: options.brokers,
    logLevel: kafkaLogLevelFor(options.logger),
    logCreator: kafkaLogCreator(options.logger),
  });
  const prices = await startPriceStore({ kafka, topic: options.pricesTopic, fileTable, logger: options.logger });
  const dashboard = createWebDashboard({
    aggregator: options.aggregator,
    prices,
    backgroundIntervalMs: options.backgroundIntervalMs ?? 1000,
  });
  return {
    dashboard,
    async stop() {
      dashboard.stop();
      await prices.stop();
    },
  };
}
