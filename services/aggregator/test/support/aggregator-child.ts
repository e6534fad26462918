/**
 * A test entry script: runs one aggregator in its own process (so tests can SIGKILL, SIGSTOP and
 * SIGCONT it) and talks to the test over IPC.
 *
 * Input: `LEDGER_CHILD_CONFIG`, JSON of {@link ChildConfig}. Output (IPC messages, see
 * {@link ChildMessage}): every aggregator event, its progress every 200 ms, `started`, answers to
 * `{type: "digest"}` requests. Right before a fault-injected crash it writes one line
 * `CRASHING {"partition":p,"generation":g}` to standard output (synchronously: IPC could not be
 * flushed before the SIGKILL). SIGTERM stops the aggregator cleanly (final generations) and exits 0.
 */
import { writeSync } from "node:fs";
import pino from "pino";
import { createAggregator } from "../../src/index";
import type { AggregatorEvent, AggregatorProgress, SnapshotFaults } from "../../src/index";
import { snapshotDigest } from "./digest";

/** What the test passes to the child. */
export interface ChildConfig {
  readonly brokers: string[];
  readonly instanceId: string;
  readonly groupId: string;
  readonly recordsTopic: string;
  readonly dlqTopic: string;
  readonly snapshotsTopic: string;
  readonly partitions: number;
  readonly snapshotIntervalMs: number;
  readonly snapshotEveryRecords: number;
  readonly fullSnapshotEvery: number;
  readonly sessionTimeoutMs: number;
  /**
   * Kill this process (SIGKILL) right before the manifest of its n-th periodic generation that wrote
   * chunks (1-based, all partitions together; claims do not count).
   */
  readonly crashBeforeManifest?: number;
  /** A file for the child's JSON logs; none = silent. */
  readonly logFile?: string;
}

/** What the child sends. */
export type ChildMessage =
  | { readonly type: "started" }
  | { readonly type: "event"; readonly event: AggregatorEvent }
  | { readonly type: "progress"; readonly progress: AggregatorProgress }
  | {
      readonly type: "digest";
      readonly local: string;
      readonly fleet: string;
      readonly localDetails: number;
      readonly fleetDetails: number;
    }
  | { readonly type: "error"; readonly message: string };

/** What the test may ask. */
export type ChildRequest = { readonly type: "digest" };

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.LEDGER_CHILD_CONFIG ?? "{}") as ChildConfig;
  const logger =
    config.logFile === undefined
      ? pino({ level: "silent" })
      : pino(
          { level: "info", base: { child: config.instanceId, pid: process.pid } },
          pino.destination({ dest: config.logFile, append: true, sync: true }),
        );
  let generations = 0;
  const faults: SnapshotFaults | undefined =
    config.crashBeforeManifest === undefined
      ? undefined
      : {
          beforeManifest: ({ partition, generation, chunks }) => {
            if (generation === 0 || chunks === 0) return; // the claim, or nothing to leave half-written
            generations++;
            if (generations === config.crashBeforeManifest) {
              // The chunks of this generation are written (and acknowledged); its manifest never will be.
              writeSync(1, `CRASHING ${JSON.stringify({ partition, generation })}\n`);
              process.kill(process.pid, "SIGKILL");
            }
          },
        };
  const aggregator = createAggregator({
    brokers: config.brokers,
    clientId: `child-${config.instanceId}`,
    groupId: config.groupId,
    instanceId: config.instanceId,
    recordsTopic: config.recordsTopic,
    dlqTopic: config.dlqTopic,
    snapshotsTopic: config.snapshotsTopic,
    partitions: config.partitions,
    snapshotIntervalMs: config.snapshotIntervalMs,
    snapshotEveryRecords: config.snapshotEveryRecords,
    fullSnapshotEvery: config.fullSnapshotEvery,
    sessionTimeoutMs: config.sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(500, Math.floor(config.sessionTimeoutMs / 6)),
    rebalanceTimeoutMs: 20_000,
    logger,
    onEvent: (event) => send({ type: "event", event }),
    ...(faults === undefined ? {} : { faults }),
  });
  process.on("message", (request: ChildRequest) => {
    if (request.type === "digest") {
      const local = aggregator.localStatistics();
      const fleet = aggregator.fleetStatistics();
      send({
        type: "digest",
        local: snapshotDigest(local),
        fleet: snapshotDigest(fleet),
        localDetails: local.detailCount,
        fleetDetails: fleet.detailCount,
      });
    }
  });
  let stopping = false;
  process.on("SIGTERM", () => {
    if (stopping) return;
    stopping = true;
    aggregator
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        send({ type: "error", message: String(error) });
        process.exit(1);
      });
  });
  await aggregator.start();
  send({ type: "started" });
  setInterval(() => send({ type: "progress", progress: aggregator.progress() }), 200).unref();
  // Keep the process alive until a signal ends it.
  setInterval(() => undefined, 60_000);
}

main().catch((error: unknown) => {
  send({ type: "error", message: error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error) });
  process.exit(1);
});
