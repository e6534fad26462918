import { createSystemClock, type Clock } from "@usage-ledger/statistics";
import { AuthGuard, DEFAULT_AUTH_POLICY } from "./auth-guard";
import { systemSchedulerClock, type SchedulerClock } from "./clock";
import type { DeadLetterSink } from "./dead-letter";
import type { RecordPublisher, UndeliveredMessage } from "./delivery";
import { BridgeError } from "./errors";
import type { BridgeLogger } from "./logger";
import { createBridgeMetrics, type BridgeMetrics } from "./metrics";
import { NodeWorker, type BridgeTuning, type NodeConfig, type NodeHealth } from "./node-worker";

/** The default {@link BridgeTuning}. */
export const DEFAULT_TUNING: BridgeTuning = Object.freeze({
  batchSize: 500,
  pollIntervalMs: 1_000,
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 30_000,
  pingIntervalMs: 30_000,
  maxBufferedMessages: 1_000,
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
  readonly logger: BridgeLogger;
  /** Default: new metrics in a new registry. */
  readonly metrics?: BridgeMetrics;
  readonly tuning?: BridgeTuning;
  /** Scheduling time (backoffs, polls, the auth limiter); default the system clock. */
  readonly clock?: SchedulerClock;
  /** Jitter source, [0, 1); default Math.random. */
  readonly random?: () => number;
  /** Stamps records that arrive without a timestamp; default a strictly increasing system clock (UTC). */
  readonly stamp?: Clock;
}

/** Options of {@link Bridge.stop}. */
interface StopOptions {
  /** How long batches in hand may still be retried before the rest is reported undelivered; default 30 s. */
  readonly deadlineMs?: number;
}

/** What {@link Bridge.stop} reports: every message popped from a node but not delivered (each also logged). */
interface StopReport {
  readonly undelivered: readonly UndeliveredMessage[];
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
  const intake = new AbortController();
  const deadline = new AbortController();
  const workers = options.nodes.map(
    (node) =>
      new NodeWorker({
        node,
        tuning,
        guard: new AuthGuard(tuning.auth),
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
          stamp,
        },
      }),
  );
  let running: Promise<UndeliveredMessage[][]> | undefined;
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
          const undelivered = (await running)?.flat() ?? [];
          options.logger.info({ undelivered: undelivered.length }, "bridge stopped");
          return { undelivered };
        } finally {
          clearTimeout(timer);
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
