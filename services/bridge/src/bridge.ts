import { createHash } from "node:crypto";
import { join } from "node:path";
import type { SourceMaskOptions } from "@usage-ledger/publisher";
import { createSystemClock, type Clock } from "@usage-ledger/statistics";
import { AuthGuard, DEFAULT_AUTH_POLICY } from "./auth-guard";
import { systemSchedulerClock, type SchedulerClock } from "./clock";
import type { DeadLetterSink } from "./dead-letter";
import type { RecordPublisher, UndeliveredMessage } from "./delivery";
import { BridgeError } from "./errors";
import type { BridgeLogger } from "./logger";
import { createBridgeMetrics, type BridgeMetrics } from "./metrics";
import { NodeWorker, type BridgeTuning, type NodeConfig, type NodeHealth, type NodeStopReport } from "./node-worker";
import { Spool } from "./spool/spool";

/** The default {@link BridgeTuning}. */
export const DEFAULT_TUNING: BridgeTuning = Object.freeze({
  batchSize: 500,
  pollIntervalMs: 1_000,
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 30_000,
  pingIntervalMs: 30_000,
  maxHttpBodyBytes: 256 * 1024 * 1024,
  reconnect: Object.freeze({ baseMs: 500, maxMs: 30_000 }),
  publishRetry: Object.freeze({ baseMs: 200, maxMs: 10_000 }),
  auth: DEFAULT_AUTH_POLICY,
});

/** Options of {@link createBridge}. */
export interface BridgeOptions {
  readonly nodes: readonly NodeConfig[];
  /** Where usage records go: a packages/publisher `UsagePublisher` (the bridge does not close it). */
  readonly publisher: RecordPublisher;
  /** Where malformed messages go (the bridge does not close it). */
  readonly deadLetters: DeadLetterSink;
  /** The spools: one folder per node under `dir` (see README.md, "The spool"). */
  readonly spool: BridgeSpoolOptions;
  /** Masking of API-key sources: options of packages/publisher's maskSource, or false for raw values; default `{}` (on, unsalted). */
  readonly sourceMask?: SourceMaskOptions | false;
  readonly logger: BridgeLogger;
  /** Default: new metrics in a new registry. */
  readonly metrics?: BridgeMetrics;
  readonly tuning?: BridgeTuning;
  /** Scheduling time (backoffs, polls, the auth limiter); default the system clock. */
  readonly clock?: SchedulerClock;
  /** Jitter source, [0, 1); default Math.random. */
  readonly random?: () => number;
  /** Stamps the time each message is received (a record without a timestamp gets it); default a strictly increasing system clock (UTC). */
  readonly stamp?: Clock;
}

/** Where and how big the spools are. */
export interface BridgeSpoolOptions {
  /** Folder holding one spool folder per node (named after the node's id). */
  readonly dir: string;
  /** Per node: stop taking records when this many bytes wait for Kafka. */
  readonly maxBytes: number;
  /** Per node: size of one segment file; default min(16 MiB, maxBytes / 8). */
  readonly segmentBytes?: number;
}

/** Options of {@link Bridge.stop}. */
interface StopOptions {
  /** How long batches in hand may still be retried before the rest is reported undelivered; default 30 s. */
  readonly deadlineMs?: number;
}

/** What {@link Bridge.stop} reports. */
interface StopReport {
  /** Messages taken from a node, neither spooled (the spool failed) nor delivered: lost (each also logged). */
  readonly undelivered: readonly UndeliveredMessage[];
  /** Records left in the spools, published by the next start. */
  readonly leftInSpool: number;
}

/** The health of the whole bridge. */
export interface BridgeHealth {
  /** `ok` when every node is healthy. */
  readonly status: "ok" | "degraded" | "stopped";
  readonly nodes: readonly NodeHealth[];
}

/** A running bridge: one worker per node. */
export interface Bridge {
  /** Starts every node's worker (once). */
  start(): void;
  /**
   * Stops popping, finishes the batches in hand (publishing them, bounded by the deadline), closes
   * the node connections. Idempotent.
   */
  stop(options?: StopOptions): Promise<StopReport>;
  health(): BridgeHealth;
  readonly metrics: BridgeMetrics;
}

/** Creates the bridge from CLIProxyAPI usage queues to usage.records (see README.md). */
export function createBridge(options: BridgeOptions): Bridge {
  if (options.nodes.length === 0) throw new BridgeError("BRIDGE_INVALID_CONFIG", "at least one node is needed");
  const tuning = options.tuning ?? DEFAULT_TUNING;
  const metrics = options.metrics ?? createBridgeMetrics();
  const clock = options.clock ?? systemSchedulerClock;
  const random = options.random ?? Math.random;
  const stamp = options.stamp ?? createSystemClock();
  const sourceMask = options.sourceMask === false ? undefined : (options.sourceMask ?? {});
  const intake = new AbortController();
  const deadline = new AbortController();
  const spools: Spool[] = [];
  try {
    for (const node of options.nodes) {
      spools.push(
        Spool.open({
          dir: join(options.spool.dir, spoolFolderName(node.id)),
          maxBytes: options.spool.maxBytes,
          ...(options.spool.segmentBytes === undefined ? {} : { segmentBytes: options.spool.segmentBytes }),
          logger: options.logger.child({ node: node.address, component: "spool" }),
        }),
      );
    }
  } catch (error) {
    for (const spool of spools) void spool.close();
    throw error;
  }
  const workers = options.nodes.map(
    (node, index) =>
      new NodeWorker({
        node,
        tuning,
        guard: new AuthGuard(tuning.auth),
        spool: spools[index] as Spool,
        stamp,
        delivery: {
          nodeAddress: node.address,
          nodeId: node.id,
          mode: node.mode,
          publisher: options.publisher,
          deadLetters: options.deadLetters,
          metrics,
          logger: options.logger.child({ node: node.address, mode: node.mode }),
          clock,
          random,
          retry: tuning.publishRetry,
          sourceMask,
        },
      }),
  );
  let running: Promise<NodeStopReport[]> | undefined;
  let stopping: Promise<StopReport> | undefined;
  return {
    metrics,
    start() {
      if (running !== undefined || stopping !== undefined) return;
      options.logger.info({ nodes: options.nodes.map((node) => ({ address: node.address, mode: node.mode })) }, "bridge starting");
      running = Promise.all(workers.map((worker) => worker.run(intake.signal, deadline.signal)));
    },
    stop(stopOptions = {}) {
      stopping ??= (async () => {
        intake.abort();
        const timer = setTimeout(() => deadline.abort(), stopOptions.deadlineMs ?? 30_000);
        try {
          const reports = (await running) ?? [];
          const undelivered = reports.flatMap((report) => report.undelivered);
          const leftInSpool = reports.reduce((sum, report) => sum + report.leftInSpool, 0);
          options.logger.info({ undelivered: undelivered.length, leftInSpool }, "bridge stopped");
          return { undelivered, leftInSpool };
        } finally {
          clearTimeout(timer);
          await Promise.all(spools.map((spool) => spool.close()));
        }
      })();
      return stopping;
    },
    health() {
      const nodes = workers.map((worker) => worker.health());
      const status = stopping !== undefined ? "stopped" : nodes.every((node) => node.healthy) ? "ok" : "degraded";
      return { status, nodes };
    },
  };
}

/** The spool folder of a node: its id made safe as a file name, and a hash of it (two ids never share one). */
function spoolFolderName(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80);
  return `${safe}-${createHash("sha256").update(id).digest("hex").slice(0, 8)}`;
}
