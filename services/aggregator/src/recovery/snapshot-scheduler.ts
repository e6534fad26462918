import type { Logger } from "pino";
import type { RequestStatistics, StatisticsTotals } from "@usage-ledger/statistics";
import type { GenerationReport } from "@usage-ledger/snapshots";
import type { DetailColumns } from "@usage-ledger/wire";
import type { AggregatorMetrics } from "../metrics";
import type { PartitionOwnership } from "../partitions/partition-ownership";
import type { AggregatorEvent, PartitionState } from "../partitions/partition-state";

/**
 * Test-only fault injection into snapshot writing (the crash tests' "half-written generation").
 */
export interface SnapshotFaults {
  /**
   * Called right before a generation's manifest is sent (its chunks are written): may throw (the
   * generation fails, its chunks become orphans) or end the process (a crash between chunks and
   * manifest). `generation` counts this instance's generations of the partition (0 = the claim);
   * `chunks` is how many chunk records the generation wrote.
   */
  readonly beforeManifest?: (info: { readonly partition: number; readonly generation: number; readonly chunks: number }) => void;
}

/** Options of {@link SnapshotScheduler}. */
export interface SnapshotSchedulerOptions {
  readonly ownership: PartitionOwnership<PartitionState>;
  /** A generation at least this often per partition that changed... */
  readonly intervalMs: number;
  /** ...or after this many records, whichever first. */
  readonly everyRecords: number;
  readonly metrics: AggregatorMetrics;
  readonly logger: Logger;
  readonly emit: (event: AggregatorEvent) => void;
}

/**
 * Decides when each live partition writes a generation (every N ms or M records, whichever comes
 * first, and only when something changed), each partition independently of the others. The resume offset, the
 * detail count and the totals of a generation are captured together, synchronously, at the moment
 * it is started: applying goes on while the chunks are sent, and the generation describes exactly
 * the details that existed then (records below the resume offset are all among them).
 */
export class SnapshotScheduler {
  /** Generations written since start (final ones included). */
  written = 0;
  private readonly options: SnapshotSchedulerOptions;
  private readonly requested = new Set<number>();
  private readonly finals = new Map<number, Promise<void>>();
  /** Partitions whose periodic generation is being written now. */
  private readonly writing = new Map<number, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: SnapshotSchedulerOptions) {
    this.options = options;
  }

  /** Starts the every-N-ms trigger. */
  start(): void {
    const tickMs = Math.max(50, Math.min(1_000, Math.floor(this.options.intervalMs / 4)));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  /** Stops the trigger (queued generations still finish: see {@link idle}). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.requested.clear();
  }

  /** The every-M-records trigger, after each applied batch; and the end of the partition's tail (see PartitionState.tailDone). */
  afterBatch(state: PartitionState): void {
    if (state.tailDone !== undefined && state.nextOffset >= state.restore.endOffset) {
      const done = state.tailDone;
      state.tailDone = undefined;
      done();
    }
    if (state.sinceSnapshot >= this.options.everyRecords) this.request(state.partition);
  }

  /** Resolves once no generation is queued or being written. */
  async idle(): Promise<void> {
    while (this.writing.size > 0) await Promise.all([...this.writing.values()]);
  }

  /**
   * Writes a last generation of a partition this instance no longer owns (or is about to leave),
   * if it changed since the last one. Harmless when a newer owner already claimed the partition:
   * its higher epoch wins every restore.
   */
  writeFinal(state: PartitionState): Promise<void> {
    const previous = this.finals.get(state.partition) ?? Promise.resolve();
    const write = previous.then(() => this.write(state, true));
    this.finals.set(state.partition, write);
    void write.finally(() => {
      if (this.finals.get(state.partition) === write) this.finals.delete(state.partition);
    });
    return write;
  }

  /** Resolves once the final generations of these partitions (if any are in flight) are written or failed. */
  async finalWritesOf(partitions: readonly number[]): Promise<void> {
    await Promise.all(partitions.map((partition) => this.finals.get(partition) ?? Promise.resolve()));
  }

  private tick(): void {
    const now = Date.now();
    for (const ownership of this.options.ownership.all()) {
      const state = ownership.state;
      if (ownership.phase !== "live" || state === undefined) continue;
      if (now - state.lastSnapshotAtMs >= this.options.intervalMs && changed(state)) this.request(state.partition);
    }
  }

  /**
   * Partitions write independently (each has its own writer); a partition whose generation is
   * still being written when asked again writes once more right after it.
   */
  private request(partition: number): void {
    if (this.writing.has(partition)) {
      this.requested.add(partition);
      return;
    }
    const run = (async () => {
      do {
        this.requested.delete(partition);
        const ownership = this.options.ownership.live(partition);
        if (ownership?.state === undefined) return;
        await this.write(ownership.state, false);
      } while (this.requested.has(partition));
    })().finally(() => this.writing.delete(partition));
    this.writing.set(partition, run);
  }

  /** Writes one generation of `state` if it changed; failures are logged (the next trigger retries). */
  private async write(state: PartitionState, final: boolean): Promise<void> {
    if (!changed(state)) return;
    // The generation waits behind the claim: start it now.
    startClaim(state);
    const { metrics, logger } = this.options;
    const resumeOffset = state.nextOffset;
    const view = frozenView(state.statistics);
    state.sinceSnapshot = 0;
    state.lastSnapshotAtMs = Date.now();
    let report: GenerationReport;
    try {
      report = await state.writer.writeGeneration({ statistics: view, resumeOffset });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn({ err: error, partition: state.partition, final }, "snapshot generation failed");
      this.options.emit({ type: "snapshot-failed", partition: state.partition, token: state.token, message });
      return;
    }
    state.snapshotResumeOffset = resumeOffset;
    state.snapshotDetailCount = view.detailCount;
    this.written++;
    metrics.snapshotDuration.observe({ kind: report.kind }, report.durationMs / 1000);
    metrics.snapshotBytes.inc({ kind: report.kind }, report.bytesWritten);
    metrics.snapshots.inc({ kind: report.kind });
    this.options.emit({
      type: "snapshot",
      partition: state.partition,
      token: state.token,
      final,
      kind: report.kind,
      generation: report.generation,
      epoch: report.epoch,
      resumeOffset,
      details: report.detailCount,
      bytes: report.bytesWritten,
      durationMs: Math.round(report.durationMs),
    });
  }
}

/** Starts the partition's claim if it still waits. */
function startClaim(state: PartitionState): void {
  const start = state.startClaim;
  state.startClaim = undefined;
  start?.();
}

/** True when records were consumed or details added since the generation in force. */
function changed(state: PartitionState): boolean {
  return state.nextOffset !== state.snapshotResumeOffset || state.statistics.detailCount !== state.snapshotDetailCount;
}

/**
 * The statistics as they are now, frozen: detail count and totals captured together (rows below
 * the count never change, the store is append-only), so a generation written while records keep
 * being applied describes one consistent state.
 */
export function frozenView(statistics: RequestStatistics): {
  readonly detailCount: number;
  totals(): StatisticsTotals;
  exportDetails(from: number, to: number): DetailColumns;
  mergeDetails(columns: DetailColumns): { added: number; skipped: number };
} {
  const detailCount = statistics.detailCount;
  const totals = statistics.totals();
  return {
    detailCount,
    totals: () => totals,
    exportDetails: (from, to) => {
      if (to > detailCount) throw new RangeError(`details [${from}, ${to}) reach past the frozen count ${detailCount}`);
      return statistics.exportDetails(from, to);
    },
    mergeDetails: () => {
      throw new Error("a frozen view of the statistics takes no details");
    },
  };
}
