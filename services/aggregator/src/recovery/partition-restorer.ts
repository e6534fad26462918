import type { Admin, Consumer, Kafka, Producer, ProducerRecord } from "kafkajs";
import type { Logger } from "pino";
import { restorePartitions, SnapshotWriter } from "@usage-ledger/snapshots";
import type { RestoredPartition, SnapshotTopic } from "@usage-ledger/snapshots";
import type { AggregatorMetrics } from "../metrics";
import type { Ownership, PartitionOwnership } from "../partition-ownership";
import type { AggregatorEvent, PartitionState, RestoreReport } from "../partition-state";
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
    await Promise.all(
      pending.map(async (ownership) => {
        const result = restored.get(ownership.partition);
        if (result === undefined || !this.current(ownership)) return;
        try {
          await this.goLive(ownership, result, ends.get(ownership.partition) ?? 0, performance.now() - started);
        } catch (error) {
          logger.warn({ err: error, partition: ownership.partition }, "claiming the partition failed; retrying");
          failed.push(ownership);
        }
      }),
    );
    return failed;
  }

  private async goLive(
    ownership: Ownership<PartitionState>,
    restored: RestoredPartition,
    endOffset: number,
    restoreMs: number,
  ): Promise<void> {
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
    // partition has replayed its tail (the store is append-only), so that encoding the whole state
    // does not delay the restart. Until it lands a restore still finds the previous owner's
    // generation, a real state with its resume offset; if it fails, the next generation is written
    // in full and claims instead.
    let startClaim: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      startClaim = resolve;
    });
    writer.claim({ after: released }).then(
      (claim) => this.options.emit({ type: "claimed", partition, token: ownership.token, epoch: claim.epoch, generation: claim.generation, durationMs: Math.round(claim.durationMs) }),
      (error: unknown) => this.options.logger.warn({ err: error, partition }, "the claim failed; the partition's next generation claims instead"),
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
      startClaim: resumeOffset >= endOffset ? undefined : startClaim,
    };
    if (state.startClaim === undefined) startClaim();
    const consumer = this.options.consumer();
    if (consumer === undefined || !this.options.ownership.goLive(partition, ownership.token, state)) return;
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

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
