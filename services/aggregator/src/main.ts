import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { Logger } from "pino";
import type { FastifyInstance } from "fastify";
import { provideKafka, repositoryRoot } from "@usage-ledger/kafka-broker";
import type { ProvidedKafka } from "@usage-ledger/kafka-broker";
import { launchFleet } from "@usage-ledger/loadgen";
import type { FleetHandle } from "@usage-ledger/loadgen";
import { createAggregator } from "./aggregator";
import type { Aggregator } from "./aggregator";
import { ConfigError, helpText, loadConfig } from "./config";
import type { LedgerConfig } from "./config";
import { startDashboard } from "./dashboard";
import type { Dashboard } from "./dashboard";
import { buildApp } from "./http/app";
import type { BuildInfo } from "./http/app";
import { startWebDashboard } from "./insights/start-web-dashboard";
import type { StartedWebDashboard } from "./insights/start-web-dashboard";

/*
 * The main command (`pnpm start`): Kafka (KAFKA_BROKERS, else a local broker), the aggregator, the
 * HTTP API and, unless --no-demo, a simulated fleet; a live status line; a clean stop on SIGINT and
 * SIGTERM. See services/aggregator/README.md. Its first two stdout lines are stable for scripts:
 * `usage-ledger API: <url>` and `management key: <key>`.
 */

/** Signals closer together than this count as one. */
const REPEAT_GRACE_MS = 1500;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** When this process started: the build time when there is no git checkout (the page is built at start). */
const STARTED_AT = new Date();

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: repositoryRoot, encoding: "utf8", timeout: 2000, stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return ""; // not a git checkout
  }
}

function buildInfo(): BuildInfo {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
  const commit = git(["rev-parse", "--short", "HEAD"]);
  // X-CPA-BUILD-DATE: the commit's time (the code that runs), else the start (when the dashboard was built).
  const committedAt = Number(git(["log", "-1", "--format=%ct"]));
  const built = Number.isSafeInteger(committedAt) && committedAt > 0 ? new Date(committedAt * 1000) : STARTED_AT;
  return {
    version: pkg.version ?? "dev",
    commit: commit === "" ? "none" : commit,
    buildDate: built.toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
}

function createLogger(config: LedgerConfig): Logger {
  const destination =
    config.logFile === "-"
      ? pino.destination({ dest: 1, sync: true })
      : pino.destination({ dest: config.logFile, sync: true, mkdir: true });
  return pino({ level: config.logLevel, base: { instance: config.instanceId } }, destination);
}

function urlOf(host: string, port: number): string {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  return `http://${bare.includes(":") ? `[${bare}]` : bare}:${port}`;
}

/** Everything the command started, to stop in reverse order. */
interface Running {
  kafka?: ProvidedKafka;
  aggregator?: Aggregator;
  app?: FastifyInstance;
  fleet?: FleetHandle;
  dashboard?: Dashboard;
  web?: StartedWebDashboard;
}

async function shutdown(running: Running, logger: Logger): Promise<boolean> {
  let clean = true;
  const step = async (name: string, action: () => Promise<unknown>): Promise<void> => {
    try {
      await action();
    } catch (error) {
      clean = false;
      logger.error({ err: error }, `stopping the ${name} failed`);
      say(`stopping the ${name} failed: ${(error as Error).message}`);
    }
  };
  running.dashboard?.stop();
  const fleet = running.fleet;
  if (fleet !== undefined) {
    await step("demo fleet", async () => {
      const { summary } = await fleet.stop();
      say(`demo fleet stopped: ${summary.sent} published (${summary.resent} re-sent, ${summary.failed} failed)`);
    });
  }
  const app = running.app;
  if (app !== undefined) await step("HTTP server", () => app.close());
  const web = running.web;
  if (web !== undefined) await step("web dashboard", () => web.stop());
  const aggregator = running.aggregator;
  if (aggregator !== undefined) {
    await step("aggregator", async () => {
      await aggregator.stop();
      say("aggregator stopped (final snapshot written)");
    });
  }
  const kafka = running.kafka;
  if (kafka !== undefined && kafka.source !== "external") await step("Kafka broker", () => kafka.stop());
  return clean;
}

async function main(): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig({
      env: process.env,
      argv: process.argv.slice(2),
      defaults: {
        instanceId: `${hostname()}-${process.pid}`,
        logFileWithDemo: join(tmpdir(), `usage-ledger-${process.pid}.log`),
        demoSeed: randomInt(0, 2 ** 32 - 1),
        kafkaDir: join(repositoryRoot, ".cache", "ledger-kafka"),
      },
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (loaded.kind === "help") {
    say(helpText());
    return 0;
  }
  const config = loaded.config;
  const logger = createLogger(config);
  const running: Running = {};
  let stopping: Promise<boolean> | undefined;
  let firstSignalAt = 0;
  const stop = (signal: string): void => {
    if (stopping !== undefined) {
      // pnpm (and tsx) relay the terminal's Ctrl-C to a child that got it already: a repeat within
      // the grace period is that same Ctrl-C, not a second one.
      if (performance.now() - firstSignalAt < REPEAT_GRACE_MS) return;
      say(`${signal} again: exiting at once`);
      process.exit(130);
    }
    firstSignalAt = performance.now();
    say(`${process.stdout.isTTY === true ? "\n" : ""}${signal}: stopping (Ctrl-C again to exit at once)`);
    logger.info({ signal }, "stopping");
    stopping = shutdown(running, logger);
    void stopping.then((clean) => {
      say(clean ? "stopped cleanly" : "stopped, with errors (see above)");
      process.exit(clean ? 0 : 1);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  try {
    if (config.logFile !== "-") say(`logs: ${config.logFile}`);
    running.kafka = await provideKafka({
      kafkaBrokers: config.kafkaBrokers.join(","),
      dockerHost: process.env.DOCKER_HOST,
      local: { workDir: config.kafkaDir },
      onLine: (line) => say(`kafka: ${line}`),
    });
    // A signal during start-up: stop() is already shutting down what is in `running` and exits.
    const park = (): Promise<number> => new Promise<number>(() => undefined);
    if (stopping !== undefined) return await park();
    const brokers = running.kafka.brokers;
    say(`kafka: ${brokers.join(",")} (${running.kafka.source})`);

    const aggregator = createAggregator({
      brokers,
      security: config.kafkaSecurity,
      clientId: config.clientId,
      groupId: config.groupId,
      instanceId: config.instanceId,
      recordsTopic: config.topics.records,
      dlqTopic: config.topics.dlq,
      snapshotsTopic: config.topics.snapshots,
      partitions: config.partitions,
      snapshotIntervalMs: config.snapshot.intervalMs,
      snapshotEveryRecords: config.snapshot.everyRecords,
      fullSnapshotEvery: config.snapshot.fullEvery,
      logger: logger.child({ component: "aggregator" }),
    });
    running.aggregator = aggregator;
    await aggregator.start();
    if (stopping !== undefined) return await park();

    running.web = await startWebDashboard({
      brokers,
      clientId: config.clientId,
      pricesFile: config.prices.file,
      pricesTopic: config.prices.topic,
      aggregator,
      logger: logger.child({ component: "web-dashboard" }),
    });
    if (stopping !== undefined) return await park();

    const generated = config.managementKey === undefined;
    const managementKey = config.managementKey ?? randomBytes(18).toString("base64url");
    const app = await buildApp({
      aggregator,
      config: {
        managementKey,
        allowRemoteManagement: !generated,
        bodyLimitBytes: config.http.bodyLimitBytes,
        build: buildInfo(),
      },
      logger: logger.child({ component: "http" }),
      dashboard: running.web.dashboard,
    });
    running.app = app;
    await app.listen({ host: config.http.host, port: config.http.port });
    if (stopping !== undefined) return await park();
    const address = app.server.address();
    const port = typeof address === "object" && address !== null ? address.port : config.http.port;
    const url = urlOf(config.http.host, port);
    say(`usage-ledger API: ${url}`);
    say(`management key: ${managementKey}${generated ? " (generated for this run; set LEDGER_MANAGEMENT_KEY to choose one)" : ""}`);
    say(`try: curl -H "Authorization: Bearer ${managementKey}" ${url}/v0/management/usage`);
    say(`dashboard: ${url}/ (sign in with the management key)`);

    if (config.demo.enabled) {
      running.fleet = launchFleet({
        brokers,
        security: config.kafkaSecurity,
        topic: config.topics.records,
        nodes: config.demo.nodes,
        ratePerSecond: config.demo.ratePerSecond,
        resendRate: config.demo.resendRate,
        seed: config.demo.seed,
        groundTruth: false,
        logger: logger.child({ component: "loadgen" }),
      });
      say(
        `demo fleet: ${config.demo.nodes} simulated proxy nodes, ${config.demo.ratePerSecond} records/s, ` +
          `${Math.round(config.demo.resendRate * 100)}% deliberate re-sends (seed ${config.demo.seed}); --no-demo to run without it`,
      );
    }
    const fleet = running.fleet;
    running.dashboard = startDashboard({
      intervalMs: config.statusIntervalMs,
      output: { write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true && config.logFile !== "-" },
      sample: () => {
        const progress = aggregator.progress();
        const fleetProgress = fleet?.progress();
        return {
          atMs: performance.now(),
          fleet:
            fleetProgress === undefined
              ? undefined
              : { sent: fleetProgress.sent, resent: fleetProgress.resent, failed: fleetProgress.failed },
          aggregator: progress,
          totalRequests: aggregator.fleetStatistics().totals().totalRequests,
        };
      },
    });
    say("Ctrl-C stops everything cleanly");
    // Runs until a signal; stop() exits the process.
    return await park();
  } catch (error) {
    logger.error({ err: error }, "start-up failed");
    say(`start-up failed: ${(error as Error).message}`);
    if (stopping === undefined) {
      stopping = shutdown(running, logger);
      await stopping;
    }
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
