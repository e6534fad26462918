import type { Kafka } from "kafkajs";
import type { Logger } from "pino";
import { RequestStatistics } from "@usage-ledger/statistics";
import type { Clock } from "@usage-ledger/statistics";
import { SnapshotReader } from "@usage-ledger/snapshots";
import type { GenerationEvent } from "@usage-ledger/snapshots";

/** One partition's statistics as a source of a merged view. */
export interface StatisticsSource {
  readonly partition: number;
  readonly statistics: RequestStatistics;
}

/**
 * A merged view of several partitions' statistics, kept up to date incrementally: every source's
 * details are append-only, so the view remembers how many details of each source (by object) it
 * has merged and merges only the new ones (`exportDetails(from)` then `mergeDetails`, whose dedup
 * skips anything already held). A refresh costs O(sources + new details), never O(state), unless a
 * source was dropped (then the view is rebuilt once).
 *
 * Two flavours:
 * - `keepDropped: true` (the fleet view): the merged details only ever grow. Every source holds
 *   distinct real records of the topic, so the union of what any source ever held is still exact
 *   (a subset of the truth, deduplicated) when a partition moves to another owner or its source is
 *   replaced by a newer generation; nothing is ever rebuilt.
 * - `keepDropped: false` (the local view): only the current sources; dropping one rebuilds.
 */
export class MergedView {
  private merged: RequestStatistics;
  private cursors = new Map<RequestStatistics, number>();
  private readonly keepDropped: boolean;
  private readonly clock: Clock | undefined;

  constructor(options: { keepDropped: boolean; clock?: Clock }) {
    this.keepDropped = options.keepDropped;
    this.clock = options.clock;
    this.merged = this.fresh();
  }

  /**
   * The view merged up to date with `sources` (returned object is shared: read it, do not change
   * it, except through {@link mergeInto}).
   */
  refresh(sources: Iterable<StatisticsSource>): RequestStatistics {
    const current = new Set<RequestStatistics>();
    for (const source of sources) current.add(source.statistics);
    if (!this.keepDropped) {
      for (const known of this.cursors.keys()) {
        if (!current.has(known)) {
          this.reset();
          break;
        }
      }
    }
    for (const statistics of current) {
      const from = this.cursors.get(statistics) ?? 0;
      const to = statistics.detailCount;
      if (to > from) this.merged.mergeDetails(statistics.exportDetails(from, to));
      this.cursors.set(statistics, to);
    }
    if (this.keepDropped && this.cursors.size > 4 * Math.max(1, current.size) + 64) {
      // Forget cursors of sources long gone (their details stay merged).
      for (const known of this.cursors.keys()) if (!current.has(known)) this.cursors.delete(known);
    }
    return this.merged;
  }

  /** The merged statistics as they are (no refresh). */
  current(): RequestStatistics {
    return this.merged;
  }

  /** Drops everything merged; the next refresh rebuilds from the sources. */
  reset(): void {
    this.merged = this.fresh();
    this.cursors = new Map();
  }

  private fresh(): RequestStatistics {
    return new RequestStatistics(this.clock === undefined ? {} : { clock: this.clock });
  }
}

/** Options of {@link FleetView}. */
export interface FleetViewOptions {
  readonly kafka: Kafka;
  readonly snapshotsTopic: string;
  readonly recordsTopic: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /**
   * Every newer generation the follower sees, of any partition (the aggregator checks it for a newer
   * writer of its own partitions).
   */
  readonly onGeneration?: (generation: SnapshotGenerationSeen) => void;
  /**
   * True for a partition whose state this instance holds itself (owned, restoring or live, or every
   * partition before the first assignment is known): the follower neither decodes nor rebuilds its
   * generations while it does (see SnapshotReader's `defer`). Call {@link FleetView.ownershipChanged}
   * when the answer changes. Default: nothing is held.
   */
  readonly holds?: (partition: number) => boolean;
}

/** A generation the follower saw: which partition, and the writer epoch it was written under. */
export type SnapshotGenerationSeen = Pick<GenerationEvent, "partition" | "epoch">;

const FOLLOW_RETRY_MS = 2_000;

/**
 * The fleet-wide view: this instance's live partitions, and every other partition from its latest
 * complete snapshot generation (a {@link SnapshotReader} following the snapshot topic), merged
 * incrementally ({@link MergedView}). Also the local view (live partitions only).
 */
export class FleetView {
  private readonly options: FleetViewOptions;
  private readonly fleetView: MergedView;
  private readonly localView: MergedView;
  private reader: SnapshotReader | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private following: Promise<void> | undefined;

  constructor(options: FleetViewOptions) {
    this.options = options;
    const clock = options.clock === undefined ? {} : { clock: options.clock };
    this.fleetView = new MergedView({ keepDropped: true, ...clock });
    this.localView = new MergedView({ keepDropped: false, ...clock });
  }

  /** Starts following the snapshot topic in the background (retrying on failure until closed). */
  start(): void {
    this.follow();
  }

  /** True once the follower has read everything written before it started. */
  caughtUp(): boolean {
    return this.reader !== undefined && this.following === undefined;
  }

  private follow(): void {
    if (this.closed) return;
    const reader = SnapshotReader.create({
      kafka: this.options.kafka,
      topic: this.options.snapshotsTopic,
      sourceTopic: this.options.recordsTopic,
      logger: this.options.logger,
      // Following stopped for good after catching up: follow anew (the views merged so far stay merged).
      onFollowFailure: () => this.restart(reader),
      ...(this.options.holds === undefined ? {} : { defer: this.options.holds }),
      onDeferredManifest: (manifest) => this.options.onGeneration?.({ partition: manifest.partition, epoch: manifest.writerEpoch }),
    });
    this.reader = reader;
    const following = reader.follow((event) => this.options.onGeneration?.(event));
    this.following = following;
    following.then(
      () => {
        if (this.following === following) this.following = undefined;
        this.options.logger.info({ partitions: reader.partitions().size }, "fleet view caught up with the snapshot topic");
      },
      (error: unknown) => {
        this.options.logger.warn({ err: error }, "following the snapshot topic failed; retrying");
        this.restart(reader);
      },
    );
  }

  private restart(reader: SnapshotReader): void {
    void reader.close().catch(() => undefined);
    if (this.reader !== reader || this.closed) return;
    this.reader = undefined;
    this.following = undefined;
    this.retryTimer = setTimeout(() => this.follow(), FOLLOW_RETRY_MS);
  }

  /**
   * The partitions this instance holds changed (see `holds`): the follower builds, in the
   * background, the views of partitions it no longer holds.
   */
  ownershipChanged(): void {
    this.reader?.settleDeferred();
  }

  /** Partitions the follower has built a view of (from their generations), ascending. */
  followedPartitions(): number[] {
    return [...(this.reader?.partitions().keys() ?? [])].sort((a, b) => a - b);
  }

  /** The local view: the live partitions merged (see {@link MergedView}). */
  local(live: readonly StatisticsSource[]): RequestStatistics {
    return this.localView.refresh(live);
  }

  /** The fleet view: live partitions, plus every other partition's latest generation. */
  fleet(live: readonly StatisticsSource[]): RequestStatistics {
    const sources: StatisticsSource[] = [...live];
    const owned = new Set(live.map((source) => source.partition));
    for (const view of this.reader?.partitions().values() ?? []) {
      if (!owned.has(view.partition)) sources.push({ partition: view.partition, statistics: view.statistics });
    }
    return this.fleetView.refresh(sources);
  }

  /** Forgets what the fleet view merged (an import that took details could not be published). */
  invalidate(): void {
    this.fleetView.reset();
  }

  /** Stops following. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    await this.reader?.close().catch(() => undefined);
  }
}
