import { createAggregator } from "@usage-ledger/aggregator";
import type { Aggregator, AggregatorEvent, AggregatorProgress, RestoreReport } from "@usage-ledger/aggregator";
import type { BenchKafka } from "./bench-kafka";
import { createRecordsTopic, createSnapshotTopic, uniqueTopic } from "./bench-kafka";

/** The aggregator's production defaults for snapshots (services/aggregator/README.md, Settings). */
export const DEFAULT_SNAPSHOT_SETTINGS = { snapshotIntervalMs: 10_000, snapshotEveryRecords: 100_000, fullSnapshotEvery: 10 } as const;

/** Options of {@link timeAggregator}. */
export interface TimedAggregatorOptions {
  readonly recordsTopic: string;
  readonly partitions: number;
  /** The snapshot topic to restore from; default: a fresh, empty one (a replay from offset 0). */
  readonly snapshotsTopic?: string;
  /** The run ends when this many records were applied (added) since the start. */
  readonly expectedApplied: number;
  /** Called right before `start()` and right after the end is seen (a CPU profile brackets the run with them). */
  readonly around?: { before(): Promise<void>; after(): Promise<void> };
  /** Guard against a hang (not a speed check). Default 15 minutes. */
  readonly timeoutMs?: number;
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
}

/**
 * Starts a real aggregator (services/aggregator `createAggregator`, production snapshot settings, a
 * fresh consumer group) on `recordsTopic` and times it from the start until `expectedApplied`
 * records are applied; then stops it (untimed) and deletes the topics it created.
 */
export async function timeAggregator(bench: BenchKafka, options: TimedAggregatorOptions): Promise<TimedAggregatorRun> {
  // Every topic exists before the clock starts (a deployed aggregator finds its topics in place).
  const dlqTopic = await createRecordsTopic(bench, options.recordsTopic, options.partitions, uniqueTopic("dlq"));
  const ownSnapshots = options.snapshotsTopic === undefined;
  const snapshotsTopic = options.snapshotsTopic ?? uniqueTopic("snapshots");
  if (ownSnapshots) await createSnapshotTopic(bench, snapshotsTopic);
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
    brokers: bench.brokers,
    clientId: "usage-ledger-bench-aggregator",
    groupId: uniqueTopic("group"),
    instanceId: "bench",
    recordsTopic: options.recordsTopic,
    dlqTopic,
    snapshotsTopic,
    partitions: options.partitions,
    ...DEFAULT_SNAPSHOT_SETTINGS,
    logger: bench.logger,
    onEvent,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await aggregator.start();
    await Promise.race([
      reached,
      new Promise<never>((_, fail) => {
        timer = setTimeout(() => fail(new Error(`the aggregator did not apply ${options.expectedApplied} records in time`)), options.timeoutMs ?? 15 * 60_000);
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
    await bench.deleteTopics(ownSnapshots ? [dlqTopic, snapshotsTopic] : [dlqTopic]);
  }
}
