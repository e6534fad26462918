import type { RequestStatistics } from "@usage-ledger/statistics";
import type { SnapshotWriter } from "@usage-ledger/snapshots";

/** What one restore of a partition found and how much it replayed since. */
export interface RestoreReport {
  readonly partition: number;
  /** Ownership token of the restore (see {@link AggregatorEvent}). */
  readonly token: number;
  /** Where consumption resumed: the generation's resume offset, or 0 when there was none. */
  readonly resumeOffset: number;
  /** End (high watermark) of the partition when the restore began; offsets below it are "replayed". */
  readonly endOffset: number;
  /** Generation restored and its writer epoch; undefined when the partition had no snapshot. */
  readonly generation: number | undefined;
  readonly epoch: number | undefined;
  /** Epoch this instance claimed for its own generations of the partition. */
  readonly claimedEpoch: number;
  /** Details in the restored state. */
  readonly details: number;
  /** Snapshot bytes read. */
  readonly bytes: number;
  readonly durationMs: number;
  /** Records replayed so far (offsets in [resumeOffset, endOffset) applied after the restore). */
  replayed: number;
}

/**
 * The runtime state of one live partition: its statistics and where they end. `nextOffset` only
 * moves once every record below it is applied (and, for a bad one, acknowledged by the DLQ), so a
 * generation written with it as resume offset never skips a record.
 */
export interface PartitionState {
  readonly partition: number;
  readonly token: number;
  readonly statistics: RequestStatistics;
  /** Writes this partition's generations under the epoch claimed at restore. */
  readonly writer: SnapshotWriter;
  /** The next offset of the records topic to apply. */
  nextOffset: number;
  /** The partition's high watermark as last seen (a fetch response), for the lag. */
  highWatermark: number;
  readonly restore: RestoreReport;
  /** Resume offset and detail count of the newest generation written or restored (unchanged = nothing to write). */
  snapshotResumeOffset: number;
  snapshotDetailCount: number;
  /** Records applied since the last generation (the every-M-records trigger). */
  sinceSnapshot: number;
  /** When the last generation was written or restored (`Date.now()`, for the every-N-seconds trigger). */
  lastSnapshotAtMs: number;
  /**
   * Starts writing the claim now (its state was taken at restore): called when a generation is
   * asked for, since generations wait behind the claim. Without it, the claim starts once every
   * partition restored with this one is done with its tail.
   */
  startClaim: (() => void) | undefined;
  /**
   * Tells the claims of the restore that this partition is done with its tail (it reached the end
   * offset seen at restore, or it was revoked). Set until then.
   */
  tailDone: (() => void) | undefined;
}

/**
 * The aggregator's event log (also logged through pino): ownership changes, restores, applied
 * batches, generations and dead letters, in the order they happen. `token` identifies one
 * ownership of a partition: a partition is restored (`restored`, then `live`) under a token before
 * any `applied` event carries that token.
 */
export type AggregatorEvent =
  | { readonly type: "joined"; readonly memberId: string; readonly partitions: readonly number[] }
  | { readonly type: "acquired"; readonly partition: number; readonly token: number }
  | { readonly type: "retained"; readonly partition: number; readonly token: number; readonly nextOffset: number }
  | { readonly type: "revoked"; readonly partition: number; readonly token: number; readonly reason: string }
  | ({ readonly type: "restored" } & Omit<RestoreReport, "replayed">)
  | { readonly type: "live"; readonly partition: number; readonly token: number; readonly nextOffset: number }
  /** The claim of a restored partition landed (written after the partition went live, once its tail was replayed). */
  | {
      readonly type: "claimed";
      readonly partition: number;
      readonly token: number;
      readonly epoch: number;
      readonly generation: number;
      readonly durationMs: number;
    }
  | {
      readonly type: "applied";
      readonly partition: number;
      readonly token: number;
      readonly firstOffset: number;
      readonly nextOffset: number;
      readonly applied: number;
      readonly duplicates: number;
      readonly deadLetters: number;
    }
  | {
      readonly type: "dead-letter";
      readonly partition: number;
      readonly offset: string;
      readonly reason: string;
    }
  | {
      readonly type: "snapshot";
      readonly partition: number;
      readonly token: number;
      readonly final: boolean;
      readonly kind: string;
      readonly generation: number;
      readonly epoch: number;
      readonly resumeOffset: number;
      readonly details: number;
      readonly bytes: number;
      readonly durationMs: number;
    }
  | { readonly type: "snapshot-failed"; readonly partition: number; readonly token: number; readonly message: string }
  | { readonly type: "crashed"; readonly message: string; readonly restart: boolean }
  | { readonly type: "stopped" };
