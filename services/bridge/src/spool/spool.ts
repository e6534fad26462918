import {
  closeSync,
  fdatasync,
  fsync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { BridgeError, errorMessage } from "../errors";
import type { BridgeLogger } from "../logger";
import { acquireSpoolLock, releaseSpoolLock } from "./spool-lock";
import { encodeEntry, readSegment, SEGMENT_HEADER, type SpooledMessage } from "./spool-format";

/** Options of {@link Spool.open}. */
export interface SpoolOptions {
  /** The node's own spool folder (created, mode 0700). One bridge process at a time (a lock file). */
  readonly dir: string;
  /** The spool counts as full, and the bridge takes no more records, once unacknowledged entries hold this many bytes. */
  readonly maxBytes: number;
  /** A new segment file starts when the current one has this many bytes; default min(16 MiB, maxBytes / 8). */
  readonly segmentBytes?: number;
  /** Entries kept in memory as well (read back from disk otherwise), bytes; default 32 MiB. */
  readonly cacheBytes?: number;
  readonly logger: BridgeLogger;
}

/** A run of the oldest unacknowledged entries, handed out by {@link Spool.take}. */
export interface SpoolBatch {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly messages: readonly SpooledMessage[];
}

/** What {@link Spool.append} did. */
export interface AppendResult {
  /** True when the entry is in the segment file; false when the write failed and it is held in memory only. */
  readonly written: boolean;
  /** Resolves once the entry is on stable storage (fdatasync); rejects with `BRIDGE_SPOOL_FAILED` when it cannot be. */
  readonly durable: Promise<void>;
}

/** A damaged stretch of a segment found at start-up, copied aside and reported. */
export interface SpoolDamage {
  readonly segment: string;
  readonly offset: number;
  readonly length: number;
  readonly reason: string;
  /** The file its bytes were copied to. */
  readonly copiedTo: string;
}

/** The spool's state for /healthz and /metrics. */
export interface SpoolStats {
  readonly records: number;
  readonly bytes: number;
  /** Records held in memory only because a write to the spool failed. */
  readonly memoryOnly: number;
  readonly full: boolean;
  /** The last write or sync error, until a write is durable again. */
  readonly failing: string | null;
  /** Damaged stretches found at start-up. */
  readonly damaged: number;
}

interface Segment {
  readonly id: number;
  readonly path: string;
  size: number;
  /** Highest seq of a data entry in it; -1 when none. */
  lastDataSeq: number;
  /** Open for appending while it is the active segment. */
  writeFd: number | undefined;
  readFd: number | undefined;
  sync: FileSync | undefined;
  /** Resolves once the segment's directory entry is durable. */
  created: Promise<void>;
}

interface PendingEntry {
  readonly seq: number;
  /** undefined: held in memory only (the write failed). */
  readonly segment: Segment | undefined;
  readonly offset: number;
  readonly length: number;
  readonly count: number;
  messages: readonly SpooledMessage[] | undefined;
}

const SEGMENT_NAME = /^segment-(\d{12})\.spool$/;

/**
 * The bridge's write-ahead spool for one node: every batch of messages taken from the node is
 * appended here (and fsynced) before anything else happens to it, published from here, and
 * dropped only once Kafka has acknowledged it. After a crash the next start finds whatever was not
 * acknowledged and publishes it first (what was published twice is removed by the aggregator's
 * dedup). See README.md, "The spool".
 *
 * On disk: numbered segment files of checksummed entries (spool-format.ts); an acknowledgement is
 * an entry too, and a segment whose data entries are all acknowledged is deleted. A damaged stretch
 * (a write torn by a crash, or bad storage) is found by its checksum at start-up, copied to a
 * `.damaged-<offset>` file beside the segment, logged at error level and reported in
 * {@link Spool.damage}, never dropped silently.
 */
export class Spool {
  private readonly options: Required<Omit<SpoolOptions, "logger">> & { logger: BridgeLogger };
  private readonly segments: Segment[] = [];
  private readonly pending: PendingEntry[] = [];
  /** Entries of `pending` before this index have been handed out by take() and await their acknowledgement. */
  private cursor = 0;
  private nextSeq = 0;
  /** Every data entry with a lower seq is acknowledged. */
  private ackedBelow = 0;
  private pendingBytesTotal = 0;
  private pendingCount = 0;
  private memoryOnlyCount = 0;
  private cachedBytes = 0;
  private failure: BridgeError | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly closing = new Set<Promise<void>>();
  private closed = false;
  /** Damaged stretches found when the spool was opened. */
  readonly damage: readonly SpoolDamage[];

  private constructor(options: SpoolOptions, damage: SpoolDamage[]) {
    this.options = {
      dir: options.dir,
      maxBytes: options.maxBytes,
      segmentBytes: options.segmentBytes ?? Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(options.maxBytes / 8))),
      cacheBytes: options.cacheBytes ?? 32 * 1024 * 1024,
      logger: options.logger,
    };
    this.damage = damage;
  }

  /**
   * Opens (or creates) the spool in `options.dir` and reads back what a previous run left:
   * unacknowledged entries become pending again, in their order. Throws `BRIDGE_SPOOL_FAILED`
   * when the folder cannot be used (permissions, another bridge holds it).
   */
  static open(options: SpoolOptions): Spool {
    try {
      mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw spoolError(`cannot create the spool folder ${options.dir}`, error);
    }
    acquireSpoolLock(options.dir);
    try {
      const damage: SpoolDamage[] = [];
      const spool = new Spool(options, damage);
      spool.recover(damage);
      return spool;
    } catch (error) {
      releaseSpoolLock(options.dir);
      throw error instanceof BridgeError ? error : spoolError(`cannot read the spool in ${options.dir}`, error);
    }
  }

  /** Records (messages) not yet acknowledged. */
  get pendingRecords(): number {
    return this.pendingCount;
  }

  /** True while unacknowledged entries hold `maxBytes` or more: take no more records. */
  get full(): boolean {
    return this.pendingBytesTotal >= this.options.maxBytes;
  }

  stats(): SpoolStats {
    return {
      records: this.pendingCount,
      bytes: this.pendingBytesTotal,
      memoryOnly: this.memoryOnlyCount,
      full: this.full,
      failing: this.failure?.message ?? null,
      damaged: this.damage.length,
    };
  }

  /**
   * Appends one entry of messages: written to the active segment at once (so a crash of the
   * process from here on does not lose it), synced to stable storage in the background (several
   * appends share one fdatasync). A write that fails (disk full, I/O error) keeps the entry in
   * memory only, to be published like the others, and reports it: `written` false, `durable`
   * rejects. Empty lists are not appended.
   */
  append(messages: readonly SpooledMessage[]): AppendResult {
    if (this.closed) throw new BridgeError("BRIDGE_STOPPED", "the spool is closed");
    if (messages.length === 0) return { written: true, durable: Promise.resolve() };
    const seq = this.nextSeq;
    this.nextSeq += 1;
    const bytes = encodeEntry({ kind: "data", seq, messages });
    let segment: Segment | undefined;
    let offset = 0;
    try {
      segment = this.writable(bytes.length);
      offset = segment.size;
      writeFully(segment, bytes);
    } catch (error) {
      const failure = spoolError(`cannot write to the spool in ${this.options.dir}`, error);
      this.failure = failure;
      this.add({ seq, segment: undefined, offset: 0, length: bytes.length, count: messages.length, messages });
      this.memoryOnlyCount += messages.length;
      this.options.logger.error(
        { code: failure.code, err: failure.message, records: messages.length },
        "spool write failed: the records are held in memory only until Kafka takes them (a crash now would lose them)",
      );
      const durable = Promise.reject(failure);
      void durable.catch(() => undefined);
      return { written: false, durable };
    }
    const cache = this.cachedBytes + bytes.length <= this.options.cacheBytes;
    if (cache) this.cachedBytes += bytes.length;
    segment.lastDataSeq = seq;
    this.add({ seq, segment, offset, length: bytes.length, count: messages.length, messages: cache ? messages : undefined });
    const durable = Promise.all([segment.created, segment.sync?.request()]).then(
      () => {
        this.failure = undefined;
      },
      (error: unknown) => {
        const failure = spoolError(`cannot sync the spool in ${this.options.dir}`, error);
        this.failure = failure;
        throw failure;
      },
    );
    void durable.catch(() => undefined);
    return { written: true, durable };
  }

  /**
   * The oldest entries not handed out yet, at least one and together at most `maxMessages`
   * messages (unless the first alone has more). Waits while there are none; rejects with
   * `BRIDGE_STOPPED` when `signal` aborts. Hand the batch back with {@link acknowledge} once Kafka
   * has every message of it.
   */
  async take(maxMessages: number, signal: AbortSignal): Promise<SpoolBatch> {
    while (this.cursor >= this.pending.length) await this.wait(signal);
    const taken: PendingEntry[] = [];
    let count = 0;
    for (let index = this.cursor; index < this.pending.length; index += 1) {
      const entry = this.pending[index];
      if (entry === undefined || (taken.length > 0 && count + entry.count > maxMessages)) break;
      taken.push(entry);
      count += entry.count;
    }
    this.cursor += taken.length;
    const messages: SpooledMessage[] = [];
    for (const entry of taken) {
      try {
        messages.push(...(entry.messages ?? this.readBack(entry)));
      } catch (error) {
        this.options.logger.error(
          { code: "BRIDGE_SPOOL_DAMAGED", err: errorMessage(error), seq: entry.seq, records: entry.count },
          "spool: an entry could not be read back; its records are not published",
        );
      }
    }
    return { firstSeq: taken[0]?.seq ?? 0, lastSeq: taken.at(-1)?.seq ?? 0, messages };
  }

  /**
   * Kafka has every message of `batch` (the oldest batch handed out): its entries leave the spool.
   * Writes an acknowledgement entry (not synced: losing one only means publishing again) and
   * deletes segments left with nothing unacknowledged.
   */
  acknowledge(batch: SpoolBatch): void {
    const first = this.pending[0];
    if (first === undefined || first.seq !== batch.firstSeq || this.cursor === 0) {
      throw new Error(`spool: acknowledged batch ${batch.firstSeq}..${batch.lastSeq} is not the oldest handed out`);
    }
    while ((this.pending[0]?.seq ?? Number.POSITIVE_INFINITY) <= batch.lastSeq) {
      const entry = this.pending.shift();
      if (entry === undefined) break;
      this.cursor -= 1;
      this.pendingBytesTotal -= entry.length;
      this.pendingCount -= entry.count;
      if (entry.segment === undefined) this.memoryOnlyCount -= entry.count;
      else if (entry.messages !== undefined) this.cachedBytes -= entry.length;
    }
    this.ackedBelow = Math.max(this.ackedBelow, batch.lastSeq + 1);
    try {
      const ack = encodeEntry({ kind: "ack", below: this.ackedBelow });
      writeFully(this.writable(ack.length), ack);
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, "spool: acknowledgement not written (the records may be published again)");
    }
    this.dropAcknowledgedSegments();
    this.notify();
  }

  /** Resolves once the spool is not full; rejects with `BRIDGE_STOPPED` when `signal` aborts. */
  async waitForRoom(signal: AbortSignal): Promise<void> {
    while (this.full) await this.wait(signal);
  }

  /** Resolves once no entry is held in memory only; rejects with `BRIDGE_STOPPED` when `signal` aborts. */
  async waitForMemoryOnly(signal: AbortSignal): Promise<void> {
    while (this.memoryOnlyCount > 0) await this.wait(signal);
  }

  /** The messages held in memory only (a failed write), in order: what a stop leaves undelivered. */
  memoryOnlyMessages(): SpooledMessage[] {
    return this.pending.filter((entry) => entry.segment === undefined).flatMap((entry) => entry.messages ?? []);
  }

  /** Syncs and closes the files and releases the lock; what is not acknowledged stays for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notify();
    for (const segment of this.segments) this.track(this.closeSegment(segment));
    await Promise.allSettled([...this.closing]);
    releaseSpoolLock(this.options.dir);
  }

  private recover(damage: SpoolDamage[]): void {
    const { dir, logger } = this.options;
    const files = readdirSync(dir)
      .map((name) => ({ name, match: SEGMENT_NAME.exec(name) }))
      .filter((file) => file.match !== null)
      .map((file) => ({ name: file.name, id: Number(file.match?.[1]) }))
      .sort((a, b) => a.id - b.id);
    let lastId = 0;
    let maxDataSeq = -1;
    const found: PendingEntry[] = [];
    for (const file of files) {
      lastId = Math.max(lastId, file.id);
      const path = join(dir, file.name);
      const bytes = readFileSync(path);
      const contents = readSegment(bytes);
      const segment: Segment = {
        id: file.id,
        path,
        size: bytes.length,
        lastDataSeq: -1,
        writeFd: undefined,
        readFd: undefined,
        sync: undefined,
        created: Promise.resolve(),
      };
      for (const range of contents.damaged) {
        const copiedTo = `${path}.damaged-${range.offset}`;
        writeFileSync(copiedTo, bytes.subarray(range.offset, range.offset + range.length), { mode: 0o600 });
        damage.push({ segment: path, offset: range.offset, length: range.length, reason: range.reason, copiedTo });
        logger.error(
          { code: "BRIDGE_SPOOL_DAMAGED", segment: path, offset: range.offset, bytes: range.length, reason: range.reason, copiedTo },
          "spool: a damaged stretch (a write torn by a crash, or bad storage) was found and set aside; records in it, if any, are not published",
        );
        if (range.offset + range.length === bytes.length && range.offset >= SEGMENT_HEADER.length) {
          // A torn tail: cut it off, so the segment ends with an intact entry.
          truncate(path, range.offset);
          segment.size = range.offset;
        }
      }
      for (const { entry, offset, length } of contents.entries) {
        if (entry.kind === "ack") {
          this.ackedBelow = Math.max(this.ackedBelow, entry.below);
          continue;
        }
        maxDataSeq = Math.max(maxDataSeq, entry.seq);
        segment.lastDataSeq = Math.max(segment.lastDataSeq, entry.seq);
        const cache = this.cachedBytes + length <= this.options.cacheBytes;
        if (cache) this.cachedBytes += length;
        found.push({ seq: entry.seq, segment, offset, length, count: entry.messages.length, messages: cache ? entry.messages : undefined });
      }
      this.segments.push(segment);
    }
    this.nextSeq = Math.max(maxDataSeq + 1, this.ackedBelow);
    for (const entry of found) {
      if (entry.seq >= this.ackedBelow) this.add(entry);
      else if (entry.messages !== undefined) this.cachedBytes -= entry.length;
    }
    // A fresh segment for this run, starting with the acknowledgement state so far.
    this.startSegment(lastId + 1);
    this.dropAcknowledgedSegments();
    if (this.pendingCount > 0) {
      logger.info(
        { records: this.pendingCount, bytes: this.pendingBytesTotal, dir },
        "spool: records a previous run took from the node but Kafka had not acknowledged are published first",
      );
    }
  }

  private add(entry: PendingEntry): void {
    this.pending.push(entry);
    this.pendingBytesTotal += entry.length;
    this.pendingCount += entry.count;
    this.notify();
  }

  /** The active segment, a new one first when this entry would take it past the segment size. */
  private writable(bytes: number): Segment {
    const active = this.segments.at(-1);
    if (active === undefined || active.writeFd === undefined) throw new Error("spool: no active segment");
    if (active.size > SEGMENT_HEADER.length && active.size + bytes > this.options.segmentBytes) return this.startSegment(active.id + 1);
    return active;
  }

  private startSegment(id: number): Segment {
    const path = join(this.options.dir, `segment-${String(id).padStart(12, "0")}.spool`);
    const fd = openSync(path, "a", 0o600);
    const segment: Segment = {
      id,
      path,
      size: 0,
      lastDataSeq: -1,
      writeFd: fd,
      readFd: undefined,
      sync: new FileSync(fd),
      created: syncDirectory(this.options.dir),
    };
    void segment.created.catch(() => undefined);
    try {
      writeFully(segment, Buffer.concat([SEGMENT_HEADER, encodeEntry({ kind: "ack", below: this.ackedBelow })]));
    } catch (error) {
      closeSync(fd);
      unlinkQuietly(path);
      throw error;
    }
    const previous = this.segments.at(-1);
    this.segments.push(segment);
    if (previous?.writeFd !== undefined) this.track(this.closeWriter(previous));
    return segment;
  }

  private dropAcknowledgedSegments(): void {
    const active = this.segments.at(-1);
    if (active !== undefined && active.lastDataSeq < this.ackedBelow && active.size >= this.options.segmentBytes) {
      this.startSegment(active.id + 1);
    }
    for (const segment of [...this.segments]) {
      if (segment === this.segments.at(-1) || segment.lastDataSeq >= this.ackedBelow) continue;
      this.segments.splice(this.segments.indexOf(segment), 1);
      this.track(this.closeSegment(segment).then(() => unlinkQuietly(segment.path)));
    }
  }

  /** Keeps a closing file's promise until it settles (close() waits for all of them). */
  private track(closing: Promise<void>): void {
    const tracked = closing.catch((error: unknown) => {
      this.options.logger.warn({ err: errorMessage(error) }, "spool: closing a segment file failed");
    });
    this.closing.add(tracked);
    void tracked.finally(() => this.closing.delete(tracked));
  }

  private readBack(entry: PendingEntry): readonly SpooledMessage[] {
    const segment = entry.segment;
    if (segment === undefined) return [];
    segment.readFd ??= openSync(segment.path, "r");
    const bytes = Buffer.allocUnsafe(entry.length);
    let read = 0;
    while (read < entry.length) {
      const got = readSync(segment.readFd, bytes, read, entry.length - read, entry.offset + read);
      if (got === 0) break;
      read += got;
    }
    const contents = readSegment(Buffer.concat([SEGMENT_HEADER, bytes.subarray(0, read)]));
    const decoded = contents.entries[0]?.entry;
    if (decoded?.kind !== "data" || decoded.seq !== entry.seq) {
      throw new BridgeError("BRIDGE_SPOOL_DAMAGED", `spool entry ${entry.seq} in ${segment.path} changed on disk since it was written`);
    }
    return decoded.messages;
  }

  private async closeWriter(segment: Segment): Promise<void> {
    const fd = segment.writeFd;
    if (fd === undefined) return;
    segment.writeFd = undefined;
    await segment.sync?.request().catch(() => undefined);
    closeSync(fd);
  }

  private async closeSegment(segment: Segment): Promise<void> {
    await this.closeWriter(segment);
    if (segment.readFd !== undefined) {
      closeSync(segment.readFd);
      segment.readFd = undefined;
    }
  }

  private wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted || this.closed) {
        reject(new BridgeError("BRIDGE_STOPPED", "the bridge is stopping"));
        return;
      }
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener("abort", done);
        if (signal.aborted || this.closed) reject(new BridgeError("BRIDGE_STOPPED", "the bridge is stopping"));
        else resolve();
      };
      this.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Syncs one file, several requests sharing one fdatasync. */
class FileSync {
  private readonly fd: number;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** Resolves after an fdatasync that started after this call. */
  request(): Promise<void> {
    if (this.running === undefined) {
      this.running = this.run();
      return this.running;
    }
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        this.running = this.run();
        return this.running;
      });
    return this.queued;
  }

  private run(): Promise<void> {
    return new Promise((resolve, reject) => {
      fdatasync(this.fd, (error) => {
        this.running = undefined;
        if (error === null) resolve();
        else reject(error);
      });
    });
  }
}

function writeFully(segment: Segment, bytes: Buffer): void {
  const fd = segment.writeFd;
  if (fd === undefined) throw new Error("spool: the segment is not open for writing");
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  } catch (error) {
    // Leave no torn entry behind: the next entry must follow an intact one.
    if (written > 0) {
      try {
        ftruncateSync(fd, segment.size);
      } catch {
        // The checksum finds the torn entry at the next start.
      }
    }
    throw error;
  }
  segment.size += bytes.length;
}

function syncDirectory(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let fd: number;
    try {
      fd = openSync(dir, "r");
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    fsync(fd, (error) => {
      closeSync(fd);
      if (error === null) resolve();
      else reject(error);
    });
  });
}

function truncate(path: string, length: number): void {
  const fd = openSync(path, "r+");
  try {
    ftruncateSync(fd, length);
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** A spool I/O failure, saying plainly when the disk is full. */
function spoolError(what: string, error: unknown): BridgeError {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  const full = code === "ENOSPC" || code === "EDQUOT";
  const detail = full ? `the disk is full (${code}): free space or move the spool (BRIDGE_SPOOL_DIR)` : errorMessage(error);
  return new BridgeError("BRIDGE_SPOOL_FAILED", `${what}: ${detail}`, { cause: error });
}
