import { RequestStatistics, type RequestStatisticsOptions } from "@usage-ledger/statistics";
import type { SnapshotManifest } from "@usage-ledger/wire";
import type { Kafka } from "kafkajs";
import { SnapshotError } from "../errors";
import {
  capacityFor,
  fenceOf,
  orphanKeys,
  selectGeneration,
  type Fence,
  type PartitionLog,
  type RejectedGeneration,
} from "../format/generation";
import { isTopicName, parseSnapshotKey, snapshotPartitionFor } from "../format/keys";
import { openSnapshotLog, type LogRecord } from "./log-reader";
import { silentLogger, type SnapshotLogger } from "../logger";

/** The restored state of one source partition ({@link restorePartition}). */
export interface RestoredPartition {
  readonly sourceTopic: string;
  readonly partition: number;
  /** Whether a complete generation was found. When not, `statistics` is empty and `resumeOffset` is `"0"`. */
  readonly found: boolean;
  /** The partition's state, rebuilt from the generation's chunks (a new store, the caller's to keep). */
  readonly statistics: RequestStatistics;
  /** Next offset of the source partition to consume (a decimal string, as kafkajs takes offsets). */
  readonly resumeOffset: string;
  /** Writer epoch of the restored generation; -1 when none. */
  readonly epoch: number;
  /** The restored generation; -1 when none. */
  readonly generation: number;
  /** Details in `statistics`. */
  readonly detailCount: number;
  /** The manifest of the restored generation and its key. */
  readonly manifest: SnapshotManifest | undefined;
  readonly manifestKey: string | undefined;
  /**
   * The highest writer epoch and generation on ANY key of the partition (manifests, chunks,
   * tombstones, complete or not), -1 when none. A new owner claims `fence.epoch + 1`.
   */
  readonly fence: Fence;
  /** Keys of the partition holding a value that the restored generation does not use. */
  readonly orphanKeys: readonly string[];
  /** Manifests newer than the restored one (or broken) that were passed over, and why. */
  readonly rejected: readonly RejectedGeneration[];
  /** Bytes of the restored generation's manifest and chunk values. */
  readonly bytesRead: number;
  /** Bytes of every value of the partition's keys read from the topic (superseded versions included). */
  readonly bytesScanned: number;
  /** Wall time of the whole restore (shared by the partitions of one {@link restorePartitions} call). */
  readonly durationMs: number;
}

/** Options of {@link restorePartitions}. */
export interface RestorePartitionsOptions {
  /** A kafkajs client (its logCreator decides where kafkajs logs go). */
  readonly kafka: Kafka;
  /** The snapshot topic. */
  readonly topic: string;
  /** The topic the state was computed from (normally `usage.records`). */
  readonly sourceTopic: string;
  /** Source partitions to restore. */
  readonly partitions: readonly number[];
  readonly logger?: SnapshotLogger;
  /** Options of the restored `RequestStatistics` (its clock, logger, initial capacity). */
  readonly statisticsOptions?: RequestStatisticsOptions;
  /** A read that makes no progress for this long fails with `SNAPSHOT_READ_STALLED`. Default 60 s. */
  readonly stallTimeoutMs?: number;
}

/** Options of {@link restorePartition}. */
export type RestorePartitionOptions = Omit<RestorePartitionsOptions, "partitions"> & { readonly partition: number };

/**
 * Restores one source partition: reads its snapshot-topic partition once, from the start to the
 * end offset captured at the start, and rebuilds the newest complete generation (see
 * {@link restorePartitions}).
 */
export async function restorePartition(options: RestorePartitionOptions): Promise<RestoredPartition> {
  const { partition, ...rest } = options;
  const restored = await restorePartitions({ ...rest, partitions: [partition] });
  const result = restored.get(partition);
  if (result === undefined) throw new SnapshotError("SNAPSHOT_READ_FAILED", `partition ${String(partition)} was not restored`);
  return result;
}

/**
 * Restores several source partitions with ONE read of the snapshot topic (the partitions that hold
 * them, from the start to the end offsets captured at the start). Per source partition it takes the
 * manifest with the highest (epoch, generation) whose chunks are all present with matching length
 * and SHA-256 and whose rebuilt state matches the manifest's detail count and totals; broken or
 * incomplete ones are passed over (`rejected`) for the next older one. A partition without any
 * complete generation comes back with `found: false`, empty statistics and resume offset `"0"`.
 * Throws `SNAPSHOT_INVALID_OPTIONS`, `SNAPSHOT_TOPIC_MISSING`, `SNAPSHOT_READ_FAILED` or `SNAPSHOT_READ_STALLED`.
 */
export async function restorePartitions(options: RestorePartitionsOptions): Promise<Map<number, RestoredPartition>> {
  const started = performance.now();
  const logger = options.logger ?? silentLogger;
  for (const partition of options.partitions) {
    if (!Number.isSafeInteger(partition) || partition < 0) {
      throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", `partition must be a non-negative integer, got ${String(partition)}`);
    }
  }
  const { logs } = await readPartitionLogs({ ...options, logger });
  const results = new Map<number, RestoredPartition>();
  for (const partition of options.partitions) {
    const log = logs.get(partition) ?? emptyLog(options.sourceTopic, partition);
    results.set(partition, restoreFromLog(log, options.statisticsOptions, logger));
  }
  const durationMs = performance.now() - started;
  for (const [partition, result] of results) {
    const final = { ...result, durationMs };
    results.set(partition, final);
    logger.info(
      {
        sourceTopic: final.sourceTopic,
        partition,
        found: final.found,
        epoch: final.epoch,
        generation: final.generation,
        resumeOffset: final.resumeOffset,
        details: final.detailCount,
        bytesRead: final.bytesRead,
        orphans: final.orphanKeys.length,
        rejected: final.rejected.length,
        durationMs: Math.round(durationMs),
      },
      "snapshot partition restored",
    );
  }
  return results;
}

/** A source partition's log as read, with the bytes of its values. */
export type ScannedLog = PartitionLog & { scanned: number };

/** Options of {@link readPartitionLogs}. */
export interface ReadPartitionLogsOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly sourceTopic: string;
  /** Source partitions to collect; every partition of `sourceTopic` found on the topic when undefined. */
  readonly partitions?: readonly number[];
  readonly logger: SnapshotLogger;
  readonly stallTimeoutMs?: number;
}

/** Reads the snapshot topic once up to its end offsets and groups the latest values by source partition. */
export async function readPartitionLogs(options: ReadPartitionLogsOptions): Promise<{ logs: Map<number, ScannedLog>; bytesRead: number }> {
  const { kafka, topic, sourceTopic, partitions } = options;
  if (!isTopicName(sourceTopic))
    throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", `not a Kafka topic name: ${JSON.stringify(sourceTopic)}`);
  const logs = new Map<number, ScannedLog>();
  const wanted = partitions === undefined ? undefined : new Set(partitions);
  const collect = collectInto(logs, sourceTopic, wanted);
  const read = await openSnapshotLog({
    kafka,
    topic,
    logger: options.logger,
    stallTimeoutMs: options.stallTimeoutMs,
    partitions:
      partitions === undefined ? undefined : (count) => [...new Set(partitions.map((partition) => snapshotPartitionFor(partition, count)))],
    onRecords: (_snapshotPartition, records) => void collect(records),
  });
  try {
    await read.caughtUp;
  } finally {
    await read.close();
  }
  return { logs, bytesRead: read.bytesRead() };
}

/** A record sink that keeps the latest value per key, grouped by source partition. */
export function collectInto(
  logs: Map<number, ScannedLog>,
  sourceTopic: string,
  wanted: ReadonlySet<number> | undefined,
): (records: readonly LogRecord[]) => Set<number> {
  return (records) => {
    const touched = new Set<number>();
    for (const record of records) {
      const key = parseSnapshotKey(record.key);
      if (key === undefined || key.sourceTopic !== sourceTopic) continue;
      if (wanted !== undefined && !wanted.has(key.partition)) continue;
      let log = logs.get(key.partition);
      if (log === undefined) {
        log = emptyLog(sourceTopic, key.partition);
        logs.set(key.partition, log);
      }
      log.values.set(record.key, record.value);
      log.scanned += record.value?.length ?? 0;
      touched.add(key.partition);
    }
    return touched;
  };
}

function emptyLog(sourceTopic: string, partition: number): ScannedLog {
  return { sourceTopic, partition, values: new Map(), scanned: 0 };
}

/** The restore rule applied to one partition's log (durationMs left 0). */
function restoreFromLog(
  log: ScannedLog,
  statisticsOptions: RequestStatisticsOptions | undefined,
  logger: SnapshotLogger,
): RestoredPartition {
  const selection = selectGeneration(
    log,
    (manifest) => new RequestStatistics({ initialCapacity: capacityFor(manifest), ...statisticsOptions }),
  );
  const chosen = selection.chosen;
  const statistics = chosen?.statistics ?? new RequestStatistics(statisticsOptions);
  for (const rejected of selection.rejected) {
    logger.warn({ sourceTopic: log.sourceTopic, partition: log.partition, ...rejected }, "snapshot generation passed over");
  }
  return {
    sourceTopic: log.sourceTopic,
    partition: log.partition,
    found: chosen !== undefined,
    statistics,
    resumeOffset: chosen?.manifest.resumeOffset ?? "0",
    epoch: chosen?.manifest.writerEpoch ?? -1,
    generation: chosen?.manifest.generation ?? -1,
    detailCount: statistics.detailCount,
    manifest: chosen?.manifest,
    manifestKey: chosen?.key,
    fence: fenceOf(log),
    orphanKeys: orphanKeys(log, chosen?.key, chosen?.manifest),
    rejected: selection.rejected,
    bytesRead: chosen?.bytes ?? 0,
    bytesScanned: log.scanned,
    durationMs: 0,
  };
}
