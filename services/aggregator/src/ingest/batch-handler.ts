import type { EachBatchPayload } from "kafkajs";
import type { Logger } from "pino";
import type { AggregatorMetrics } from "../metrics";
import type { PartitionOwnership } from "../partitions/partition-ownership";
import type { AggregatorEvent, PartitionState } from "../partitions/partition-state";
import { applyMessages, UNEXPECTED_APPLY_ERROR } from "./apply-batch";
import type { DeadLetterSink } from "./dead-letter";

/** Running totals of this instance (since it started). */
export interface IngestCounters {
  applied: number;
  duplicates: number;
  ignored: number;
  deadLetters: number;
  importBatches: number;
  replayed: number;
  batches: number;
}

/** What the batch handler needs. */
export interface BatchHandlerOptions {
  readonly ownership: PartitionOwnership<PartitionState>;
  readonly deadLetters: DeadLetterSink;
  readonly metrics: AggregatorMetrics;
  readonly logger: Logger;
  readonly emit: (event: AggregatorEvent) => void;
  /** True once the aggregator is stopping: batches are dropped (not applied, not resolved). */
  readonly stopping: () => boolean;
  /** Called after a batch moved a partition forward (snapshot triggers). */
  readonly afterBatch: (state: PartitionState) => void;
}

/**
 * The consumer's `eachBatch`: applies a batch of one partition to that partition's statistics if
 * and only if this instance owns the partition and it is live (restored) under the same ownership
 * before and after every await; otherwise the batch is dropped without resolving its offsets. Bad
 * records go to the DLQ and are acknowledged before the partition's `nextOffset` moves past them.
 */
export class BatchHandler {
  readonly counters: IngestCounters = {
    applied: 0,
    duplicates: 0,
    ignored: 0,
    deadLetters: 0,
    importBatches: 0,
    replayed: 0,
    batches: 0,
  };
  private readonly options: BatchHandlerOptions;
  private inFlight: Promise<void> | undefined;

  constructor(options: BatchHandlerOptions) {
    this.options = options;
  }

  /** The kafkajs `eachBatch` callback. */
  readonly eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const run = this.handle(payload);
    this.inFlight = run;
    try {
      await run;
    } finally {
      if (this.inFlight === run) this.inFlight = undefined;
    }
  };

  /** Resolves once no batch is being applied. */
  async idle(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight.catch(() => undefined);
  }

  private async handle(payload: EachBatchPayload): Promise<void> {
    const batch = payload.batch;
    const { ownership, metrics } = this.options;
    if (this.options.stopping()) return;
    const partition = batch.partition;
    const owned = ownership.live(partition);
    const state = owned?.state;
    // Not owned, still restoring, or a seek is pending (the batch was fetched from a stale position).
    if (owned === undefined || state === undefined || payload.isStale()) return;
    const token = owned.token;
    const messages = batch.messages;
    let from = 0;
    // Already applied (a fetch from before a seek, or a re-delivery): skip to the first new offset.
    while (from < messages.length && Number(messages[from]!.offset) < state.nextOffset) from++;
    const firstOffset = from < messages.length ? Number(messages[from]!.offset) : state.nextOffset;
    const outcome = applyMessages(state.statistics, messages, from, {
      partition,
      replayUntil: state.restore.endOffset,
    });
    if (outcome.deadLetters.length > 0) {
      for (const letter of outcome.deadLetters) {
        const level = letter.reason === UNEXPECTED_APPLY_ERROR ? "error" : "warn";
        this.options.logger[level](
          { partition, offset: letter.offset, reason: letter.reason, error: letter.message },
          "record sent to the dead-letter topic",
        );
        this.options.emit({ type: "dead-letter", partition, offset: letter.offset, reason: letter.reason });
      }
      // Acknowledged (acks -1) before nextOffset moves past these offsets: nothing is lost.
      await this.options.deadLetters.send(outcome.deadLetters);
      for (const letter of outcome.deadLetters) metrics.dlqRecords.inc({ reason: letter.reason });
    }
    const counters = this.counters;
    counters.applied += outcome.applied;
    counters.duplicates += outcome.duplicates;
    counters.ignored += outcome.ignored;
    counters.deadLetters += outcome.deadLetters.length;
    counters.importBatches += outcome.importBatches;
    counters.replayed += outcome.replayed;
    counters.batches++;
    state.restore.replayed += outcome.replayed;
    if (outcome.applied > 0) metrics.recordsApplied.inc(outcome.applied);
    if (outcome.duplicates > 0) metrics.duplicatesSkipped.inc(outcome.duplicates);
    if (outcome.ignored > 0) metrics.recordsIgnored.inc(outcome.ignored);
    if (outcome.importBatches > 0) metrics.importBatches.inc(outcome.importBatches);
    if (outcome.replayed > 0) metrics.replayedRecords.inc(outcome.replayed);
    // Lost the partition while waiting for the DLQ: its state is no longer ours to move.
    if (!ownership.isCurrent(partition, token) || this.options.stopping()) return;
    const lastOffset = batch.lastOffset();
    const next = Number(lastOffset) + 1;
    if (next > state.nextOffset) {
      state.nextOffset = next;
      state.sinceSnapshot += messages.length - from;
    }
    payload.resolveOffset(lastOffset);
    state.highWatermark = Number(batch.highWatermark);
    metrics.consumerLag.set({ partition: String(partition) }, Math.max(0, state.highWatermark - state.nextOffset));
    this.options.emit({
      type: "applied",
      partition,
      token,
      firstOffset,
      nextOffset: state.nextOffset,
      applied: outcome.applied,
      duplicates: outcome.duplicates,
      deadLetters: outcome.deadLetters.length,
    });
    this.options.afterBatch(state);
  }
}
