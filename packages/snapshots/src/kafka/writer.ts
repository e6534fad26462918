import { createSystemClock, type Clock } from "@usage-ledger/statistics";
import type { ChunkRef, SnapshotKind } from "@usage-ledger/wire";
import type { Message, Producer } from "kafkajs";
import { maxValueBytes } from "../format/chunking";
import type { DetailStatistics, StatisticsTotals } from "../format/columns";
import { errorMessage, SnapshotError } from "../errors";
import { isTopicName, manifestKey, parseSnapshotKey, snapshotPartitionFor } from "../format/keys";
import { silentLogger, type SnapshotLogger } from "../logger";
import { encodeChunkRecords, encodeManifestRecord } from "../format/records";
import type { RestoredPartition } from "./restore";
import type { SnapshotTopic } from "./topic";

/** Options of {@link SnapshotWriter.create}. */
export interface SnapshotWriterOptions {
  /** A connected kafkajs producer (shared with other writers is fine). Every send uses acks -1 and is awaited. */
  readonly producer: Producer;
  /** The snapshot topic as {@link ensureSnapshotTopic} / {@link describeSnapshotTopic} return it. */
  readonly snapshotTopic: SnapshotTopic;
  /** The topic the state is computed from (normally `usage.records`). */
  readonly sourceTopic: string;
  /** The source partition this writer snapshots. */
  readonly partition: number;
  /**
   * The restore of this partition made right before (restorePartition). The writer's epoch is
   * `restored.fence.epoch + 1`, so it fences every earlier writer; `claim()` writes
   * `restored.statistics` at `restored.resumeOffset`.
   */
  readonly restored: RestoredPartition;
  /** Every `fullEvery`-th generation is written in full (the others incrementally). Default 10. */
  readonly fullEvery?: number;
  /** A generation is written in full when the manifest in force already lists this many chunks. Default 64. */
  readonly maxChunks?: number;
  /** Chunk sends in flight at once. Default 4. */
  readonly maxInFlight?: number;
  /** Clock of the manifests' `written_at`. Default: the system clock. */
  readonly clock?: Clock;
  readonly logger?: SnapshotLogger;
  /**
   * Runs after a generation's chunks are acknowledged and before its manifest is sent (for fault
   * tests: a crash or throw here leaves a half-written generation). A throw fails the generation
   * with that error; its chunks become orphans.
   */
  readonly beforeManifest?: (info: { readonly generation: number; readonly chunkKeys: readonly string[] }) => void | Promise<void>;
}

/** What one written generation cost ({@link SnapshotWriter.writeGeneration}, {@link SnapshotWriter.claim}). */
export interface GenerationReport {
  readonly sourceTopic: string;
  readonly partition: number;
  readonly epoch: number;
  readonly generation: number;
  readonly kind: SnapshotKind;
  /** The manifest's resume offset. */
  readonly resumeOffset: string;
  /** Chunk records written by this generation. */
  readonly chunks: number;
  /** Chunks the manifest lists (the whole state). */
  readonly totalChunks: number;
  /** Details written by this generation's chunks. */
  readonly details: number;
  /** Details in the state the manifest describes. */
  readonly detailCount: number;
  /** Key and value bytes of every record written (chunks, manifest, tombstones). */
  readonly bytesWritten: number;
  /** Key + value bytes of the largest record written. */
  readonly largestRecordBytes: number;
  /** Tombstones written after the manifest (superseded chunks and manifests, orphans). */
  readonly tombstones: number;
  readonly durationMs: number;
}

/** Options of {@link SnapshotWriter.writeGeneration}. */
export interface WriteGenerationOptions {
  /** The partition's state: append-only (rows `[0, detailCount)` never change between generations). */
  readonly statistics: DetailStatistics;
  /** Next offset of the source partition to consume after this state (kafkajs offsets are decimal strings). */
  readonly resumeOffset: string | number | bigint;
  /** Write the whole state now, whatever `fullEvery` says. */
  readonly full?: boolean;
}

/** Options of {@link SnapshotWriter.claim}. */
export interface ClaimOptions {
  /**
   * Write the claim once this settles (either way), not at once: the state is still the one taken
   * at the call. The aggregator lets a restored partition replay its tail first, so that the
   * claim's encoding does not delay it. Generations asked for meanwhile wait behind the claim.
   */
  readonly after?: PromiseLike<unknown>;
}

/** A state as taken when a write was asked for: details `[0, count)` and the totals that go with them. */
interface CapturedState {
  readonly statistics: DetailStatistics;
  readonly count: number;
  readonly totals: StatisticsTotals;
}

const TOMBSTONES_PER_SEND = 500;
const OFFSET = /^(?:0|[1-9][0-9]*)$/;

/**
 * Writes snapshot generations of one source partition to the snapshot topic.
 *
 * Use: `restorePartition` → `SnapshotWriter.create({restored, ...})` → `claim()` (before applying
 * anything) → `writeGeneration(...)` as often as wanted. Calls are serialised: a second call waits
 * for the first. Each generation writes its chunks (awaited, acks -1), then its manifest; a full one
 * then tombstones what it superseded. A writer never learns that it was fenced: a newer owner's
 * higher epoch simply wins every restore.
 */
export class SnapshotWriter {
  /** This writer's epoch: one more than any epoch seen on the partition at restore. */
  readonly epoch: number;
  readonly sourceTopic: string;
  readonly partition: number;
  private readonly producer: Producer;
  private readonly topic: SnapshotTopic;
  private readonly snapshotPartition: number;
  private readonly restored: RestoredPartition;
  private readonly fullEvery: number;
  private readonly maxChunks: number;
  private readonly maxInFlight: number;
  private readonly clock: Clock;
  private readonly logger: SnapshotLogger;
  private readonly beforeManifest: SnapshotWriterOptions["beforeManifest"];
  private nextGeneration: number;
  /** The claim: not asked, waiting for its `after`, being written (or written or failed), or abandoned. */
  private claimPhase: "none" | "waiting" | "writing" | "abandoned" = "none";
  private abandon: (() => void) | undefined;
  /** True once a generation of this writer's epoch is in force (the claim, or the generation after a failed claim). */
  private claimed = false;
  /** The generation in force: its number, chunks and detail count. */
  private current: { generation: number; chunks: ChunkRef[]; detailCount: number } | undefined;
  private generationsSinceFull = 0;
  /** Keys to tombstone after the next full generation (orphans, superseded manifests, failed writes). */
  private readonly garbage = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(options: SnapshotWriterOptions) {
    const { restored } = options;
    if (!isTopicName(options.sourceTopic)) throw invalid(`not a Kafka topic name: ${JSON.stringify(options.sourceTopic)}`);
    if (restored.sourceTopic !== options.sourceTopic || restored.partition !== options.partition) {
      throw invalid(
        `restored is ${restored.sourceTopic}/${String(restored.partition)}, not ${options.sourceTopic}/${String(options.partition)}`,
      );
    }
    this.producer = options.producer;
    this.topic = options.snapshotTopic;
    this.sourceTopic = options.sourceTopic;
    this.partition = options.partition;
    this.snapshotPartition = snapshotPartitionFor(options.partition, options.snapshotTopic.partitions);
    this.restored = restored;
    this.fullEvery = positive(options.fullEvery ?? 10, "fullEvery");
    this.maxChunks = positive(options.maxChunks ?? 64, "maxChunks");
    this.maxInFlight = positive(options.maxInFlight ?? 4, "maxInFlight");
    this.clock = options.clock ?? createSystemClock();
    this.logger = options.logger ?? silentLogger;
    this.beforeManifest = options.beforeManifest;
    this.epoch = restored.fence.epoch + 1;
    this.nextGeneration = restored.fence.generation + 1;
    const key = manifestKey({ sourceTopic: this.sourceTopic, partition: this.partition, epoch: this.epoch });
    if (maxValueBytes(this.topic.maxMessageBytes, key.length + 64) < 16 * 1024) {
      throw invalid(`the snapshot topic's max.message.bytes ${String(this.topic.maxMessageBytes)} is too small`);
    }
  }

  /** A writer for one source partition; nothing is written until {@link claim}. Throws `SNAPSHOT_INVALID_OPTIONS`. */
  static create(options: SnapshotWriterOptions): SnapshotWriter {
    return new SnapshotWriter(options);
  }

  /** The generation in force that this writer wrote last; -1 before {@link claim}. */
  get generation(): number {
    return this.current?.generation ?? -1;
  }

  /** Details covered by the generation in force (the next incremental generation starts here). */
  get detailsWritten(): number {
    return this.current?.detailCount ?? 0;
  }

  /**
   * Claims the partition: writes the restored state (`restored.statistics` at
   * `restored.resumeOffset`) as a full generation of this writer's epoch, which fences every older
   * writer at once, then tombstones every older key of the partition seen at restore (its
   * generations are superseded; orphans of half-written ones go too). Call it once, right after
   * the restore and before applying anything: the state is taken at the call, so the caller may
   * apply records while the claim waits for `options.after` (when given) and is written (details
   * are append-only). Generations asked for meanwhile queue behind it; if the claim fails, the next
   * generation is written in full and claims instead. Throws `SNAPSHOT_INVALID_OPTIONS` when
   * called twice or after the restored statistics changed, `SNAPSHOT_OVERSIZE` or `SNAPSHOT_WRITE_FAILED`.
   */
  async claim(options: ClaimOptions = {}): Promise<GenerationReport> {
    const { statistics } = this.restored;
    if (this.claimPhase !== "none") throw invalid("claim() was already called");
    if (statistics.detailCount !== this.restored.detailCount) {
      throw invalid("claim() must come before anything is applied to the restored statistics");
    }
    this.claimPhase = "waiting";
    const state = { statistics, count: statistics.detailCount, totals: statistics.totals() };
    for (const key of this.restored.orphanKeys) this.garbage.add(key);
    if (this.restored.manifestKey !== undefined) this.garbage.add(this.restored.manifestKey);
    for (const ref of this.restored.manifest?.chunks ?? []) this.garbage.add(ref.key);
    const abandoned = new Promise<void>((resolve) => {
      this.abandon = resolve;
    });
    return this.serialise(async () => {
      await Promise.race([
        Promise.resolve(options.after).then(
          () => undefined,
          () => undefined,
        ),
        abandoned,
      ]);
      if (this.claimPhase === "abandoned") {
        throw new SnapshotError(
          "SNAPSHOT_CLAIM_ABANDONED",
          `the claim of ${this.sourceTopic}/${String(this.partition)} was abandoned before it was written; nothing was written`,
        );
      }
      this.claimPhase = "writing";
      const report = await this.write(state, this.restored.resumeOffset, "full");
      this.claimed = true;
      return report;
    });
  }

  /**
   * Gives up a claim that has not started to be written (it still waits for `after`): the owner
   * lost the partition meanwhile, and a new owner may restore before anything of it would land, so
   * nothing must be written under this epoch any more. Returns true when the claim is (now or
   * already) abandoned; `claim()` then rejects with `SNAPSHOT_CLAIM_ABANDONED` and every later
   * `writeGeneration` with `SNAPSHOT_NOT_CLAIMED`. Returns false when there is no waiting claim
   * (none asked, or it is being written or done).
   */
  abandonClaim(): boolean {
    if (this.claimPhase === "abandoned") return true;
    if (this.claimPhase !== "waiting") return false;
    this.claimPhase = "abandoned";
    this.abandon?.();
    return true;
  }

  /**
   * Writes one generation: incrementally (chunks for details `[detailsWritten, detailCount)`, a
   * manifest listing the chunks in force plus the new ones) or in full (every detail in fresh chunks,
   * the manifest, then tombstones for what it superseded) when `full` is set, every `fullEvery`-th
   * generation, or when the chain lists `maxChunks` chunks. Throws `SNAPSHOT_NOT_CLAIMED`,
   * `SNAPSHOT_NOT_APPEND_ONLY` (fewer details than already written, not `full`), `SNAPSHOT_INVALID_OPTIONS`,
   * `SNAPSHOT_OVERSIZE` or `SNAPSHOT_WRITE_FAILED` (retryable; the generation in force is unchanged).
   */
  async writeGeneration(options: WriteGenerationOptions): Promise<GenerationReport> {
    // Taken synchronously, with the resume offset: the caller may go on applying while this queues and writes.
    const { statistics } = options;
    const count = statistics.detailCount;
    const state = { statistics, count, totals: statistics.totals() };
    const resumeOffset = offsetText(options.resumeOffset);
    return this.serialise(async () => {
      if (this.claimPhase === "none") throw new SnapshotError("SNAPSHOT_NOT_CLAIMED", "claim() must be called before writeGeneration()");
      if (this.claimPhase === "abandoned")
        throw new SnapshotError("SNAPSHOT_NOT_CLAIMED", "the claim was abandoned: this writer writes nothing more");
      const written = this.detailsWritten;
      if (count < written && options.full !== true) {
        throw new SnapshotError(
          "SNAPSHOT_NOT_APPEND_ONLY",
          `the statistics hold ${String(count)} details, fewer than the ${String(written)} already written`,
        );
      }
      // Not claimed yet: the claim failed, and this generation, written in full, claims instead.
      const full =
        !this.claimed ||
        options.full === true ||
        this.generationsSinceFull + 1 >= this.fullEvery ||
        (this.current?.chunks.length ?? 0) >= this.maxChunks;
      const report = await this.write(state, resumeOffset, full ? "full" : "incremental");
      this.claimed = true;
      return report;
    });
  }

  private serialise<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation, operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async write(state: CapturedState, resumeOffset: string, kind: SnapshotKind): Promise<GenerationReport> {
    const started = performance.now();
    const generation = this.nextGeneration;
    this.nextGeneration += 1;
    const { statistics, count } = state;
    const previous = this.current;
    const from = kind === "full" ? 0 : (previous?.detailCount ?? 0);
    const sent: string[] = [];
    let bytesWritten = 0;
    let largest = 0;
    const account = (key: string, value: Buffer | null): void => {
      const size = Buffer.byteLength(key) + (value?.length ?? 0);
      bytesWritten += size;
      largest = Math.max(largest, size);
    };

    const newChunks: ChunkRef[] = [];
    try {
      const pieces = encodeChunkRecords({
        statistics,
        sourceTopic: this.sourceTopic,
        partition: this.partition,
        epoch: this.epoch,
        generation,
        from,
        to: count,
        maxMessageBytes: this.topic.maxMessageBytes,
      });
      const inFlight = new Set<Promise<void>>();
      let failure: unknown;
      for (const piece of pieces) {
        if (failure !== undefined) break;
        newChunks.push(piece.ref);
        sent.push(piece.key);
        account(piece.key, piece.value);
        const send: Promise<void> = this.send([{ key: piece.key, value: piece.value, partition: this.snapshotPartition }]).then(
          () => void inFlight.delete(send),
          (error: unknown) => {
            inFlight.delete(send);
            failure ??= error;
          },
        );
        inFlight.add(send);
        if (inFlight.size >= this.maxInFlight) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure instanceof Error ? failure : new Error(errorMessage(failure));
      await this.beforeManifest?.({ generation, chunkKeys: [...sent] });

      const chunks = kind === "full" ? newChunks : [...(previous?.chunks ?? []), ...newChunks];
      const manifest = encodeManifestRecord({
        detailCount: count,
        totals: state.totals,
        sourceTopic: this.sourceTopic,
        partition: this.partition,
        epoch: this.epoch,
        generation,
        kind,
        baseGeneration: previous?.generation,
        chunks,
        resumeOffset,
        clock: this.clock,
        maxMessageBytes: this.topic.maxMessageBytes,
      });
      account(manifest.key, manifest.value);
      await this.send([{ key: manifest.key, value: manifest.value, partition: this.snapshotPartition }]);

      this.current = { generation, chunks, detailCount: count };
      this.generationsSinceFull = kind === "full" ? 0 : this.generationsSinceFull + 1;
      let tombstones = 0;
      if (kind === "full") {
        for (const ref of previous?.chunks ?? []) this.garbage.add(ref.key);
        tombstones = await this.tombstoneGarbage(new Set(chunks.map((ref) => ref.key)), account);
      }
      const report: GenerationReport = {
        sourceTopic: this.sourceTopic,
        partition: this.partition,
        epoch: this.epoch,
        generation,
        kind,
        resumeOffset,
        chunks: newChunks.length,
        totalChunks: chunks.length,
        details: count - from,
        detailCount: count,
        bytesWritten,
        largestRecordBytes: largest,
        tombstones,
        durationMs: performance.now() - started,
      };
      this.logger.info({ ...report, durationMs: Math.round(report.durationMs) }, "snapshot generation written");
      return report;
    } catch (error) {
      // Chunks of a generation without its manifest are orphans: tombstoned after the next full generation.
      for (const key of sent) this.garbage.add(key);
      if (error instanceof SnapshotError) throw error;
      throw new SnapshotError(
        "SNAPSHOT_WRITE_FAILED",
        `generation ${String(generation)} of ${this.sourceTopic}/${String(this.partition)}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  /** Tombstones the garbage that is not live; failures are logged and kept for the next time. */
  private async tombstoneGarbage(live: ReadonlySet<string>, account: (key: string, value: null) => void): Promise<number> {
    const keys = [...this.garbage].filter((key) => !live.has(key) && this.ownsKey(key));
    let written = 0;
    for (let start = 0; start < keys.length; start += TOMBSTONES_PER_SEND) {
      const batch = keys.slice(start, start + TOMBSTONES_PER_SEND);
      try {
        await this.send(batch.map((key) => ({ key, value: null, partition: this.snapshotPartition })));
      } catch (error) {
        this.logger.warn(
          { err: error, sourceTopic: this.sourceTopic, partition: this.partition, keys: batch.length },
          "snapshot tombstones not written; retried after the next full generation",
        );
        return written;
      }
      for (const key of batch) {
        this.garbage.delete(key);
        account(key, null);
      }
      written += batch.length;
    }
    return written;
  }

  /** Only keys of this source partition, and never a manifest of this writer's epoch or a newer one. */
  private ownsKey(key: string): boolean {
    const parsed = parseSnapshotKey(key);
    if (parsed === undefined || parsed.sourceTopic !== this.sourceTopic || parsed.partition !== this.partition) return false;
    return parsed.type === "chunk" || parsed.epoch < this.epoch;
  }

  private async send(messages: Message[]): Promise<void> {
    await this.producer.send({ topic: this.topic.name, acks: -1, messages });
  }
}

function offsetText(offset: string | number | bigint): string {
  const text =
    typeof offset === "string"
      ? offset
      : typeof offset === "bigint"
        ? offset.toString()
        : Number.isSafeInteger(offset)
          ? String(offset)
          : "";
  if (!OFFSET.test(text)) throw invalid(`resumeOffset must be a non-negative integer, got ${String(offset)}`);
  return text;
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw invalid(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function invalid(message: string): SnapshotError {
  return new SnapshotError("SNAPSHOT_INVALID_OPTIONS", message);
}
