import { AGGREGATOR_SETTINGS, createAggregator } from "@usage-ledger/aggregator";
import type { Aggregator, AggregatorEvent, AggregatorProgress, RestoreReport } from "@usage-ledger/aggregator";
import type { Logger } from "pino";
import type { AllocationSummary } from "./alloc-profile";
import { benchKafkaSecurity } from "./bench-config";
import type { BenchKafka } from "./bench-kafka";
import { createRecordsTopic, createSnapshotTopic, uniqueTopic } from "./bench-kafka";
import { runBenchChild } from "./child-process";
import type { ProfileSummary } from "./cpu-profile";

/** The aggregator's production defaults for snapshots, from its settings table (services/aggregator/README.md, Settings). */
export const DEFAULT_SNAPSHOT_SETTINGS = {
  snapshotIntervalMs: Number(AGGREGATOR_SETTINGS.table.snapshotIntervalMs.default),
  snapshotEveryRecords: Number(AGGREGATOR_SETTINGS.table.snapshotEveryRecords.default),
  fullSnapshotEvery: Number(AGGREGATOR_SETTINGS.table.fullSnapshotEvery.default),
} as const;

/** What to profile during a run (an extra, unmeasured one). */
type ProfileKind = "cpu" | "alloc";

/** Options of {@link timeAggregator}. */
export interface TimedAggregatorOptions {
  readonly recordsTopic: string;
  readonly partitions: number;
  /** The snapshot topic to restore from; default: a fresh, empty one (a replay from offset 0). */
  readonly snapshotsTopic?: string;
  /** The run ends when this many records were applied (added) since the start. */
  readonly expectedApplied: number;
  /** Profile the run (CPU: the raw profile is written to `profileFile`). */
  readonly profile?: ProfileKind;
  readonly profileFile?: string;
}

/** What one timed aggregator run measured. */
export interface TimedAggregatorRun {
  /** From `createAggregator` + `start()` to the moment the last expected record was applied. */
  readonly elapsedMs: number;
  readonly progress: AggregatorProgress;
  /** Snapshot generations written while the run was timed (not the final ones of `stop()`). */
  readonly generationsWhileTimed: number;
  readonly snapshotBytesWhileTimed: number;
  /** Milliseconds from the start to the group join, and to the moment every partition was live (restored and claimed). */
  readonly joinedMs: number;
  readonly liveMs: number;
  /** Event-loop utilisation of the JS thread while timed (1 = never idle). */
  readonly utilisation: number;
  readonly restores: readonly RestoreReport[];
  readonly cpuProfile?: ProfileSummary;
  readonly allocations?: AllocationSummary;
}

/** Options of {@link runAggregatorTimed} (in the process that runs the aggregator). */
export interface InProcessAggregatorOptions {
  readonly brokers: string[];
  readonly logger: Logger;
  readonly recordsTopic: string;
  readonly dlqTopic: string;
  readonly snapshotsTopic: string;
  readonly partitions: number;
  readonly expectedApplied: number;
  /** Called right before `start()` and right after the end is seen (a profile brackets the run with them). */
  readonly around?: { before(): Promise<void>; after(): Promise<void> };
  /** Guard against a hang (not a speed check). Default 15 minutes. */
  readonly timeoutMs?: number;
}

/**
 * Starts a real aggregator (services/aggregator `createAggregator`, production snapshot settings, a
 * fresh consumer group) in this process and times it from the start until `expectedApplied`
 * records are applied; then stops it (untimed).
 */
export async function runAggregatorTimed(options: InProcessAggregatorOptions): Promise<TimedAggregatorRun> {
  let generations = 0;
  let snapshotBytes = 0;
  let timing = true;
  let endedAt = 0;
  let reachEnd: () => void = () => undefined;
  const reached = new Promise<void>((done) => {
    reachEnd = done;
  });
  let joinedAt = Number.NaN;
  let liveAt = Number.NaN;
  const livePartitions = new Set<number>();
  const onEvent = (event: AggregatorEvent): void => {
    if (event.type === "joined" && Number.isNaN(joinedAt)) joinedAt = performance.now();
    if (event.type === "live" && timing) {
      livePartitions.add(event.partition);
      if (livePartitions.size === options.partitions) liveAt = performance.now();
    }
    if (event.type === "snapshot" && timing && !event.final) {
      generations++;
      snapshotBytes += event.bytes;
    }
    if (event.type === "applied" && timing && aggregator.progress().applied >= options.expectedApplied) {
      endedAt = performance.now();
      utilisation = performance.eventLoopUtilization(eluStart).utilization;
      timing = false;
      reachEnd();
    }
  };
  await options.around?.before();
  const startedAt = performance.now();
  const eluStart = performance.eventLoopUtilization();
  let utilisation = 0;
  const aggregator: Aggregator = createAggregator({
    brokers: options.brokers,
    security: benchKafkaSecurity(),
    clientId: "usage-ledger-bench-aggregator",
    groupId: uniqueTopic("group"),
    instanceId: "bench",
    recordsTopic: options.recordsTopic,
    dlqTopic: options.dlqTopic,
    snapshotsTopic: options.snapshotsTopic,
    partitions: options.partitions,
    ...DEFAULT_SNAPSHOT_SETTINGS,
    logger: options.logger,
    onEvent,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await aggregator.start();
    await Promise.race([
      reached,
      new Promise<never>((_, fail) => {
        timer = setTimeout(
          () => fail(new Error(`the aggregator did not apply ${options.expectedApplied} records in time`)),
          options.timeoutMs ?? 15 * 60_000,
        );
      }),
    ]);
    await options.around?.after();
    const progress = aggregator.progress();
    return {
      elapsedMs: endedAt - startedAt,
      joinedMs: joinedAt - startedAt,
      liveMs: liveAt - startedAt,
      progress,
      generationsWhileTimed: generations,
      snapshotBytesWhileTimed: snapshotBytes,
      utilisation,
      restores: progress.restores,
    };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    await aggregator.stop();
  }
}

/** The request aggregator-child.ts takes for an aggregator run. */
export interface AggregatorChildRequest {
  readonly mode: "aggregator";
  readonly brokers: string[];
  readonly logFile: string;
  readonly recordsTopic: string;
  readonly dlqTopic: string;
  readonly snapshotsTopic: string;
  readonly partitions: number;
  readonly expectedApplied: number;
  readonly profile?: ProfileKind;
  readonly profileFile?: string;
}

/** The request aggregator-child.ts takes for a baseline consumer run. */
export interface ConsumerChildRequest {
  readonly mode: "naive" | "fetch-only";
  readonly brokers: string[];
  readonly logFile: string;
  readonly topic: string;
  readonly groupId: string;
  readonly expected: number;
}

/**
 * Times a real aggregator in a fresh child process (bench/src/aggregator-child.ts), as a restarted
 * or newly deployed aggregator runs: every topic exists before the clock starts (the dead-letter
 * topic and, unless given, an empty snapshot topic are created here and deleted afterwards).
 */
export async function timeAggregator(bench: BenchKafka, options: TimedAggregatorOptions): Promise<TimedAggregatorRun> {
  const dlqTopic = await createRecordsTopic(bench, options.recordsTopic, options.partitions, uniqueTopic("dlq"));
  const ownSnapshots = options.snapshotsTopic === undefined;
  const snapshotsTopic = options.snapshotsTopic ?? uniqueTopic("snapshots");
  if (ownSnapshots) await createSnapshotTopic(bench, snapshotsTopic);
  const request: AggregatorChildRequest = {
    mode: "aggregator",
    brokers: bench.brokers,
    logFile: bench.logFile,
    recordsTopic: options.recordsTopic,
    dlqTopic,
    snapshotsTopic,
    partitions: options.partitions,
    expectedApplied: options.expectedApplied,
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    ...(options.profileFile === undefined ? {} : { profileFile: options.profileFile }),
  };
  try {
    return await runBenchChild<TimedAggregatorRun>("aggregator-child.ts", request);
  } finally {
    await bench.deleteTopics(ownSnapshots ? [dlqTopic, snapshotsTopic] : [dlqTopic]);
  }
}
