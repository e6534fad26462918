import type { Admin, Consumer, Kafka, Producer, ProducerRecord } from "kafkajs";
import type { Logger } from "pino";
import { isSnapshotError, restorePartitions, SnapshotWriter } from "@usage-ledger/snapshots";
import type { RestoredPartition, SnapshotTopic } from "@usage-ledger/snapshots";
import type { AggregatorMetrics } from "../metrics";
import type { Ownership, PartitionOwnership } from "../partitions/partition-ownership";
import type { AggregatorEvent, PartitionState, RestoreReport } from "../partitions/partition-state";
import type { SnapshotFaults } from "./snapshot-scheduler";

/** Options of {@link PartitionRestorer}. */
export interface PartitionRestorerOptions {
  readonly kafka: Kafka;
  readonly admin: () => Admin;
  readonly producer: () => Producer;
  /** The consumer now (kafkajs may have been restarted with a new one). */
  readonly consumer: () => Consumer | undefined;
  readonly recordsTopic: string;
  readonly fullSnapshotEvery: number;
  readonly ownership: PartitionOwnership<PartitionState>;
  readonly metrics: AggregatorMetrics;
  readonly logger: Logger;
  readonly emit: (event: AggregatorEvent) => void;
  /** Waits for this instance's own final generations of these partitions (so the restore sees them). */
  readonly beforeRestore: (partitions: readonly number[]) => Promise<void>;
  /** Every finished restore. */
  readonly onRestored: (report: RestoreReport) => void;
  /** False once the aggregator stops: restores give up. */
  readonly active: () => boolean;
  readonly faults?: SnapshotFaults | undefined;
}

const MAX_BACKOFF_MS = 10_000;

/**
 * Brings newly owned partitions live: (they are paused already) waits for any final generation
 * this instance is still writing for them, captures the partitions' end offsets, restores their
 * newest complete generations with one read of the snapshot topic, claims a writer epoch per
 * partition (fencing every older writer), then seeks each to its generation's resume offset (0
 * when none) and resumes it. Every step checks that the ownership is still current; failures are
 * retried with backoff for as long as it is.
 */
export class PartitionRestorer {
  private readonly options: PartitionRestorerOptions;
  private readonly running = new Set<Promise<void>>();
  private snapshotTopic: SnapshotTopic | undefined;

  constructor(options: PartitionRestorerOptions) {
    this.options = options;
  }

  /** The snapshot topic as ensured at start (writers need its partition count and size limit). */
  setSnapshotTopic(topic: SnapshotTopic): void {
    this.snapshotTopic = topic;
  }

  /** Starts restoring `acquired` (in the background). */
  restore(acquired: readonly Ownership<PartitionState>[]): void {
    const run = this.run(acquired).catch((error: unknown) => {
      this.options.logger.error({ err: error }, "partition restore gave up");
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Resolves once no restore is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private current(ownership: Ownership<PartitionState>): boolean {
    return this.options.active() && this.options.ownership.isCurrent(ownership.partition, ownership.token);
  }

  private async run(acquired: readonly Ownership<PartitionState>[]): Promise<void> {
    let pending = acquired.filter((ownership) => this.current(ownership));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        await sleep(Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempt, 5)));
        pending = pending.filter((ownership) => this.current(ownership));
        if (pending.length === 0) return;
      }
      try {
        pending = await this.attempt(pending);
      } catch (error) {
        this.options.logger.warn(
          { err: error, partitions: pending.map((ownership) => ownership.partition), attempt },
          "partition restore failed; retrying",
        );
      }
    }
  }

  /** One attempt; returns the ownerships still to restore. */
  private async attempt(pending: readonly Ownership<PartitionState>[]): Promise<Ownership<PartitionState>[]> {
    const { recordsTopic, logger } = this.options;
    const partitions = pending.map((ownership) => ownership.partition);
    await this.options.beforeRestore(partitions);
    const started = performance.now();
    const ends = new Map<number, number>();
    for (const entry of await this.options.admin().fetchTopicOffsets(recordsTopic)) {
      ends.set(entry.partition, Number(entry.high));
    }
    const restored = await restorePartitions({
      kafka: this.options.kafka,
      topic: this.requireSnapshotTopic().name,
      sourceTopic: recordsTopic,
      partitions,
      logger,
    });
    const failed: Ownership<PartitionState>[] = [];
    // The claims of this restore are written once every partition restored here has replayed its
    // tail (or left): encoding whole states must not delay the others' replay.
    const tails = pending.map(() => gate());
    const allTails = Promise.all(tails.map((tail) => tail.opened));
    await Promise.all(
      pending.map(async (ownership, index) => {
        const tail = tails[index] ?? gate();
        const result = restored.get(ownership.partition);
        if (result === undefined || !this.current(ownership)) {
          tail.open();
          return;
        }
        try {
          await this.goLive(ownership, result, {
            endOffset: ends.get(ownership.partition) ?? 0,
            restoreMs: performance.now() - started,
            tailDone: tail.open,
            allTailsDone: allTails,
          });
        } catch (error) {
          tail.open();
          logger.warn({ err: error, partition: ownership.partition }, "taking the restored partition live failed; retrying");
          failed.push(ownership);
        }
      }),
    );
    return failed;
  }

  private async goLive(ownership: Ownership<PartitionState>, restored: RestoredPartition, live: GoLiveOptions): Promise<void> {
    const { endOffset, restoreMs } = live;
    const { metrics, recordsTopic } = this.options;
    const partition = ownership.partition;
    const writer = SnapshotWriter.create({
      producer: this.writerProducer(partition),
      snapshotTopic: this.requireSnapshotTopic(),
      sourceTopic: recordsTopic,
      partition,
      restored,
      fullEvery: this.options.fullSnapshotEvery,
      logger: this.options.logger,
    });
    // The claim (a full generation of the restored state under a new epoch) fences every older
    // writer. Its state is taken now, before a single record is applied; it is written once the
    // partitions restored with this one have replayed their tails (the store is append-only), or
    // when this partition's first generation is due, so that encoding whole states does not delay
    // the restart. Until it lands a restore still finds the previous owner's generation, a real
    // state with its resume offset; if it fails, the next generation is written in full and claims.
    const claimDue = gate();
    writer.claim({ after: Promise.race([claimDue.opened, live.allTailsDone]) }).then(
      (claim) =>
        this.options.emit({
          type: "claimed",
          partition,
          token: ownership.token,
          epoch: claim.epoch,
          generation: claim.generation,
          durationMs: Math.round(claim.durationMs),
        }),
      (error: unknown) => {
        if (isSnapshotError(error, "SNAPSHOT_CLAIM_ABANDONED"))
          this.options.logger.info({ partition }, "the partition was lost before its claim was written; the claim was given up");
        else this.options.logger.warn({ err: error, partition }, "the claim failed; the partition's next generation claims instead");
      },
    );
    const resumeOffset = Number(restored.resumeOffset);
    const report: RestoreReport = {
      partition,
      token: ownership.token,
      resumeOffset,
      endOffset,
      generation: restored.found ? restored.generation : undefined,
      epoch: restored.found ? restored.epoch : undefined,
      claimedEpoch: writer.epoch,
      details: restored.detailCount,
      bytes: restored.bytesRead,
      durationMs: Math.round(restoreMs),
      replayed: 0,
    };
    const state: PartitionState = {
      partition,
      token: ownership.token,
      statistics: restored.statistics,
      writer,
      nextOffset: resumeOffset,
      highWatermark: endOffset,
      restore: report,
      snapshotResumeOffset: resumeOffset,
      snapshotDetailCount: restored.detailCount,
      sinceSnapshot: 0,
      lastSnapshotAtMs: Date.now(),
      startClaim: claimDue.open,
      tailDone: resumeOffset >= endOffset ? undefined : live.tailDone,
    };
    if (state.tailDone === undefined) live.tailDone();
    const consumer = this.options.consumer();
    if (consumer === undefined || !this.options.ownership.goLive(partition, ownership.token, state)) {
      // Lost before it went live: nothing is written under this epoch.
      writer.abandonClaim();
      live.tailDone();
      return;
    }
    metrics.restoreDuration.observe(restoreMs / 1000);
    metrics.restoreBytes.inc(restored.bytesRead);
    metrics.restores.inc({ result: restored.found ? "snapshot" : "empty" });
    metrics.consumerLag.set({ partition: String(partition) }, Math.max(0, endOffset - resumeOffset));
    const { replayed: _replayed, ...restoredEvent } = report;
    this.options.emit({ type: "restored", ...restoredEvent });
    this.options.onRestored(report);
    // Offsets live in the manifest: resume from the generation, never from committed group offsets.
    consumer.seek({ topic: recordsTopic, partition, offset: String(resumeOffset) });
    consumer.resume([{ topic: recordsTopic, partitions: [partition] }]);
    this.options.emit({ type: "live", partition, token: ownership.token, nextOffset: resumeOffset });
  }

  /** The shared producer, with the test-only fault hook in front of manifest sends. */
  private writerProducer(partition: number): Producer {
    const producer = this.options.producer();
    const hook = this.options.faults?.beforeManifest;
    if (hook === undefined) return producer;
    let generation = 0;
    let chunks = 0;
    return {
      ...producer,
      send: async (record: ProducerRecord) => {
        for (const message of record.messages) {
          if (typeof message.key !== "string" || message.value === null) continue;
          if (message.key.startsWith("c/")) chunks++;
          if (message.key.startsWith("m/")) {
            hook({ partition, generation: generation++, chunks });
            chunks = 0;
          }
        }
        return producer.send(record);
      },
    };
  }

  private requireSnapshotTopic(): SnapshotTopic {
    if (this.snapshotTopic === undefined) throw new Error("the snapshot topic is not known yet");
    return this.snapshotTopic;
  }
}

/** What {@link PartitionRestorer.goLive} needs besides the restored partition. */
interface GoLiveOptions {
  /** The partition's end offset seen before the restore (the tail ends there). */
  readonly endOffset: number;
  readonly restoreMs: number;
  /** Tells the restore's claims that this partition is done with its tail. */
  readonly tailDone: () => void;
  /** Settles once every partition of the restore is done with its tail. */
  readonly allTailsDone: Promise<unknown>;
}

/** A promise opened once, from outside. */
function gate(): { readonly opened: Promise<void>; readonly open: () => void } {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
