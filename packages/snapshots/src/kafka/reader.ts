import { RequestStatistics, type RequestStatisticsOptions } from "@usage-ledger/statistics";
import type { DetailColumns, SnapshotKind, SnapshotManifest } from "@usage-ledger/wire";
import type { Kafka } from "kafkajs";
import { errorMessage, SnapshotError } from "../errors";
import { applyGeneration, capacityFor, compareManifests, manifestCandidates, selectGeneration, verifyChunks } from "../format/generation";
import { snapshotPartitionFor } from "../format/keys";
import { openSnapshotLog, type SnapshotLog } from "./log-reader";
import { silentLogger, type SnapshotLogger } from "../logger";
import { collectInto, readPartitionLogs, type ScannedLog } from "./restore";

/** Options of {@link SnapshotReader.create}. */
export interface SnapshotReaderOptions {
  /** A kafkajs client (its logCreator decides where kafkajs logs go). */
  readonly kafka: Kafka;
  /** The snapshot topic. */
  readonly topic: string;
  /** The topic the states were computed from (normally `usage.records`). */
  readonly sourceTopic: string;
  /** Source partitions to read; default: every partition of `sourceTopic` found on the topic. */
  readonly partitions?: readonly number[];
  readonly logger?: SnapshotLogger;
  /** Options of the `RequestStatistics` the reader builds. */
  readonly statisticsOptions?: RequestStatisticsOptions;
  /** A read that makes no progress for this long before catching up fails with `SNAPSHOT_READ_STALLED`. Default 60 s. */
  readonly stallTimeoutMs?: number;
  /**
   * Called when following stops for good after it caught up (kafkajs gave up restarting its
   * consumer; `SNAPSHOT_READ_FAILED`): the views no longer advance; close the reader and follow anew.
   */
  readonly onFollowFailure?: (error: SnapshotError) => void;
  /**
   * While following: source partitions whose state the caller holds itself (an aggregator's own
   * partitions). While it returns true for a partition, the reader keeps that partition's records
   * but decodes none of its chunks and builds no view of it; it reports each newer manifest through
   * {@link onDeferredManifest} instead. Once it returns false, the view is built from what was kept,
   * on the next generation of the partition or on {@link SnapshotReader.settleDeferred}, whichever
   * comes first. Default: nothing is deferred.
   */
  readonly defer?: (partition: number) => boolean;
  /** The newest manifest of a deferred partition, each time a newer one lands (see {@link defer}). */
  readonly onDeferredManifest?: (manifest: SnapshotManifest) => void;
}

/** The reader's view of one source partition: its latest complete generation. */
export interface PartitionView {
  readonly partition: number;
  readonly epoch: number;
  readonly generation: number;
  readonly kind: SnapshotKind;
  /** Next offset of the source partition after this state. */
  readonly resumeOffset: string;
  readonly detailCount: number;
  readonly manifest: SnapshotManifest;
  /** The partition's state. Owned by the reader and updated in place while following: read it, never change it. */
  readonly statistics: RequestStatistics;
}

/** What {@link SnapshotReader.follow} reports for each generation it applies. */
export interface GenerationEvent {
  readonly partition: number;
  readonly epoch: number;
  readonly generation: number;
  readonly kind: SnapshotKind;
  readonly resumeOffset: string;
  readonly detailCount: number;
  /** Details that entered the partition's state with this event. */
  readonly addedDetails: number;
  /** True when the partition's state was rebuilt from its chunks (a new owner, a fallback), not advanced. */
  readonly rebuilt: boolean;
  readonly view: PartitionView;
}

/** The result of {@link SnapshotReader.readAll}. */
export interface ReadAllResult {
  /** Per source partition with a complete generation. */
  readonly partitions: ReadonlyMap<number, PartitionView>;
  /** The merge of every partition's state (the reader never changes it after returning it). */
  readonly fleet: RequestStatistics;
  /** Bytes of record values read from the topic. */
  readonly bytesRead: number;
  readonly durationMs: number;
}

const EXPORT_SLICE = 65_536;

/**
 * Reads the snapshot topic for downstream consumers (other aggregator instances, dashboards,
 * billing): per source partition the latest complete generation, and the fleet-wide merge of all
 * partitions, from the topic alone. `readAll()` reads once up to the current end; `follow()` keeps
 * reading and reports each new complete generation as it lands. A reader never writes.
 */
export class SnapshotReader {
  private readonly options: SnapshotReaderOptions;
  private readonly logger: SnapshotLogger;
  private readonly views = new Map<number, PartitionView>();
  private fleet: RequestStatistics;
  private fleetDirty = false;
  private log: SnapshotLog | undefined;
  private closed = false;
  /** While following: deferred partitions with records not built into a view, and the newest manifest reported for each. */
  private readonly deferred = new Map<number, SnapshotManifest | undefined>();
  /** While following: builds the views of partitions no longer deferred. */
  private settle: (() => void) | undefined;

  private constructor(options: SnapshotReaderOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.fleet = this.newStatistics();
  }

  /** A reader; nothing is read until {@link readAll} or {@link follow}. */
  static create(options: SnapshotReaderOptions): SnapshotReader {
    return new SnapshotReader(options);
  }

  /**
   * Reads the topic once, from the start to its end offsets at the call, and returns every source
   * partition's latest complete generation and their fleet-wide merge. Also becomes the reader's
   * current view. Throws `SNAPSHOT_INVALID_OPTIONS` while following, `SNAPSHOT_CLOSED`, and the read errors.
   */
  async readAll(): Promise<ReadAllResult> {
    this.checkOpen();
    if (this.log !== undefined)
      throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", "readAll() cannot run while the reader follows the topic");
    const started = performance.now();
    const { logs, bytesRead } = await readPartitionLogs({ ...this.options, logger: this.logger });
    this.views.clear();
    for (const log of logs.values()) {
      const selection = selectGeneration(log, (manifest) => this.newStatistics(capacityFor(manifest)));
      this.logRejections(log, selection.rejected);
      if (selection.chosen !== undefined) this.views.set(log.partition, view(selection.chosen.manifest, selection.chosen.statistics));
    }
    this.fleetDirty = true;
    const fleet = this.fleetStatistics();
    return { partitions: new Map(this.views), fleet, bytesRead, durationMs: performance.now() - started };
  }

  /**
   * Starts following the topic: resolves once everything written before the call is read (having
   * called `onGeneration` once for each partition's latest complete generation), then keeps calling
   * it as new complete generations land, in log order per partition, until {@link close}. A
   * generation of the same writer epoch that extends the state in force is applied incrementally
   * (only the new chunks are decoded); anything else rebuilds that partition from its chunks.
   * Throws `SNAPSHOT_INVALID_OPTIONS` when already following, `SNAPSHOT_CLOSED`, and the read errors.
   */
  async follow(onGeneration: (event: GenerationEvent) => void | Promise<void>): Promise<void> {
    this.checkOpen();
    if (this.log !== undefined) throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", "the reader already follows the topic");
    const { sourceTopic, partitions } = this.options;
    const logs = new Map<number, ScannedLog>();
    const collect = collectInto(logs, sourceTopic, partitions === undefined ? undefined : new Set(partitions));
    const dirty = new Set<number>();
    let live = false;
    this.views.clear();
    this.fleet = this.newStatistics();
    this.fleetDirty = false;
    let queue: Promise<void> = Promise.resolve();
    this.deferred.clear();
    const processDirty = async (): Promise<void> => {
      for (const partition of this.deferred.keys()) if (this.options.defer?.(partition) !== true) dirty.add(partition);
      const touched = [...dirty].sort((a, b) => a - b);
      dirty.clear();
      for (const partition of touched) {
        const log = logs.get(partition);
        if (log === undefined) continue;
        if (this.options.defer?.(partition) === true) {
          this.reportDeferred(log);
          continue;
        }
        this.deferred.delete(partition);
        const event = this.advance(log);
        if (event !== undefined) await onGeneration(event);
      }
    };
    const enqueue = (): Promise<void> => {
      queue = queue.then(processDirty).catch((error: unknown) => {
        this.logger.error({ err: error, sourceTopic }, "snapshot reader: a generation callback failed");
      });
      return queue;
    };
    this.log = await openSnapshotLog({
      kafka: this.options.kafka,
      topic: this.options.topic,
      logger: this.logger,
      stallTimeoutMs: this.options.stallTimeoutMs,
      follow: true,
      onFailure: (error) => {
        this.logger.error({ err: error, sourceTopic }, "snapshot reader stopped following");
        this.options.onFollowFailure?.(error);
      },
      partitions:
        partitions === undefined
          ? undefined
          : (count) => [...new Set(partitions.map((partition) => snapshotPartitionFor(partition, count)))],
      onRecords: async (_snapshotPartition, records) => {
        for (const partition of collect(records)) dirty.add(partition);
        if (live && dirty.size > 0) await enqueue();
      },
    });
    try {
      await this.log.caughtUp;
    } catch (error) {
      const log = this.log;
      this.log = undefined;
      await log.close();
      throw error;
    }
    live = true;
    this.settle = () => {
      if (this.deferred.size > 0) void enqueue();
    };
    await enqueue();
  }

  /**
   * Builds, in the background, the views of partitions that were deferred and no longer are (see
   * `defer`); call it when the answer of `defer` changed. Generations of a partition are built
   * anyway when the next one lands.
   */
  settleDeferred(): void {
    this.settle?.();
  }

  /** Reports the newest manifest of a deferred partition when it changed. */
  private reportDeferred(log: ScannedLog): void {
    const newest = manifestCandidates(log).candidates[0]?.manifest;
    const reported = this.deferred.get(log.partition);
    this.deferred.set(log.partition, newest ?? reported);
    if (newest === undefined || (reported !== undefined && compareManifests(newest, reported) >= 0)) return;
    this.options.onDeferredManifest?.(newest);
  }

  /** The latest complete generation of each partition read so far. */
  partitions(): ReadonlyMap<number, PartitionView> {
    return this.views;
  }

  /**
   * The fleet-wide merge of every partition's state read so far. Owned by the reader (kept up to
   * date incrementally while following, rebuilt after a partition was rebuilt): read it, never change it.
   */
  fleetStatistics(): RequestStatistics {
    if (this.fleetDirty) {
      const fleet = this.newStatistics();
      for (const current of [...this.views.values()].sort((a, b) => a.partition - b.partition)) {
        const { statistics } = current;
        for (let from = 0; from < statistics.detailCount; from += EXPORT_SLICE) {
          fleet.mergeDetails(statistics.exportDetails(from, Math.min(statistics.detailCount, from + EXPORT_SLICE)));
        }
      }
      this.fleet = fleet;
      this.fleetDirty = false;
    }
    return this.fleet;
  }

  /** Stops following (if it does) and makes the reader unusable. */
  async close(): Promise<void> {
    this.closed = true;
    this.settle = undefined;
    const log = this.log;
    if (log !== undefined) await log.close();
  }

  /** Brings one partition's view to its newest complete generation; the event, or undefined when nothing changed. */
  private advance(log: ScannedLog): GenerationEvent | undefined {
    const current = this.views.get(log.partition);
    const newest = manifestCandidates(log).candidates[0];
    if (newest === undefined || (current !== undefined && compareManifests(newest.manifest, current.manifest) >= 0)) return undefined;
    let polluted = false;
    if (current !== undefined && newest.manifest.writerEpoch === current.epoch && newest.manifest.detailCount >= current.detailCount) {
      // Same writer, append-only store: only the details past the current count are new.
      const batches: DetailColumns[] = [];
      try {
        const chunks = verifyChunks(newest.manifest, log.values);
        polluted = true;
        applyGeneration({
          target: current.statistics,
          manifest: newest.manifest,
          chunks,
          fromCount: current.detailCount,
          onBatch: (batch) => batches.push(batch),
        });
        const next = view(newest.manifest, current.statistics);
        this.views.set(log.partition, next);
        if (!this.fleetDirty) for (const batch of batches) this.fleet.mergeDetails(batch);
        return event(next, next.detailCount - current.detailCount, false);
      } catch (error) {
        this.logger.warn(
          { err: error, partition: log.partition, key: newest.key },
          `snapshot reader: generation not applied incrementally (${errorMessage(error)}); rebuilding`,
        );
      }
    }
    const selection = selectGeneration(log, (manifest) => this.newStatistics(capacityFor(manifest)));
    this.logRejections(log, selection.rejected);
    const chosen = selection.chosen;
    if (chosen === undefined) {
      if (polluted) {
        this.views.delete(log.partition);
        this.fleetDirty = true;
      }
      return undefined;
    }
    if (!polluted && current !== undefined && compareManifests(chosen.manifest, current.manifest) >= 0) return undefined;
    const next = view(chosen.manifest, chosen.statistics);
    this.views.set(log.partition, next);
    this.fleetDirty = true;
    return event(next, next.detailCount, true);
  }

  private logRejections(log: ScannedLog, rejected: ReturnType<typeof selectGeneration>["rejected"]): void {
    for (const entry of rejected) {
      this.logger.warn({ sourceTopic: log.sourceTopic, partition: log.partition, ...entry }, "snapshot generation passed over");
    }
  }

  private newStatistics(initialCapacity?: number): RequestStatistics {
    return new RequestStatistics(
      initialCapacity === undefined ? this.options.statisticsOptions : { initialCapacity, ...this.options.statisticsOptions },
    );
  }

  private checkOpen(): void {
    if (this.closed) throw new SnapshotError("SNAPSHOT_CLOSED", "the snapshot reader is closed");
  }
}

function view(manifest: SnapshotManifest, statistics: RequestStatistics): PartitionView {
  return {
    partition: manifest.partition,
    epoch: manifest.writerEpoch,
    generation: manifest.generation,
    kind: manifest.kind,
    resumeOffset: manifest.resumeOffset,
    detailCount: manifest.detailCount,
    manifest,
    statistics,
  };
}

function event(next: PartitionView, addedDetails: number, rebuilt: boolean): GenerationEvent {
  return {
    partition: next.partition,
    epoch: next.epoch,
    generation: next.generation,
    kind: next.kind,
    resumeOffset: next.resumeOffset,
    detailCount: next.detailCount,
    addedDetails,
    rebuilt,
    view: next,
  };
}
