/** When a batch is complete (see README.md, "Batching"). */
export interface BatchLimits {
  /** A batch holds at most this many records. */
  readonly maxRecords: number;
  /** A batch holds at most this many bytes (a record bigger than this travels alone). */
  readonly maxBytes: number;
  /** A batch that is not full goes this long after its first record arrived. */
  readonly lingerMs: number;
}

/** A batch of items in arrival order. */
export interface Batch<T> {
  readonly items: readonly T[];
  /** The sum of the sizes given to {@link BatchAccumulator.add}. */
  readonly bytes: number;
}

interface OpenBatch<T> {
  items: T[];
  bytes: number;
  /** The linger time has passed. */
  lingered: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Groups items into batches by count, size and time, as Kafka's Java producer does with
 * `batch.size` and `linger.ms` (kafkajs has neither): the open batch is closed when it reaches
 * `maxRecords` or `maxBytes`; it becomes ready anyway `lingerMs` after its first item, or at once
 * when the caller is in a hurry (`take(true)`: a flush, a close, publishers waiting for space).
 * Items leave in arrival order. No I/O: the publisher takes ready batches when its sender is free.
 */
export class BatchAccumulator<T> {
  private readonly limits: BatchLimits;
  private readonly onReady: () => void;
  private readonly closed: Array<Batch<T>> = [];
  private open: OpenBatch<T> = emptyBatch();
  private count = 0;

  /** `onReady` is called when a batch becomes ready (closed full, or lingered) so the sender can take it. */
  constructor(limits: BatchLimits, onReady: () => void) {
    this.limits = limits;
    this.onReady = onReady;
  }

  /** Items held, in closed and open batches. */
  get size(): number {
    return this.count;
  }

  /** Whether {@link take} would return a batch now (with the same `urgent`). */
  hasReady(urgent: boolean): boolean {
    return this.closed.length > 0 || (this.open.items.length > 0 && (urgent || this.open.lingered || this.limits.lingerMs <= 0));
  }

  /** Adds an item of `bytes` bytes (an estimate of its size on the wire). */
  add(item: T, bytes: number): void {
    let ready = false;
    if (this.open.items.length > 0 && this.open.bytes + bytes > this.limits.maxBytes) {
      this.closeOpen();
      ready = true;
    }
    const target = this.open;
    target.items.push(item);
    target.bytes += bytes;
    this.count += 1;
    if (target.items.length >= this.limits.maxRecords || target.bytes >= this.limits.maxBytes) {
      this.closeOpen();
      ready = true;
    } else if (target.items.length === 1) {
      if (this.limits.lingerMs <= 0) {
        ready = true;
      } else {
        target.timer = setTimeout(() => {
          target.timer = undefined;
          target.lingered = true;
          this.onReady();
        }, this.limits.lingerMs);
      }
    }
    if (ready) this.onReady();
  }

  /**
   * The next batch to send: the oldest closed batch, else the open batch when it has lingered
   * (or `urgent`), else `undefined`; also `undefined` when that batch holds more than `maxBytes`.
   */
  take(urgent: boolean, maxBytes = Number.POSITIVE_INFINITY): Batch<T> | undefined {
    const next = this.closed[0] ?? (this.hasReady(urgent) ? this.open : undefined);
    if (next === undefined || next.bytes > maxBytes) return undefined;
    if (this.closed.length === 0) this.closeOpen();
    const batch = this.closed.shift();
    if (batch !== undefined) this.count -= batch.items.length;
    return batch;
  }

  /** Removes and returns every item held, oldest first (for a close that gives up). */
  drain(): T[] {
    this.closeOpen();
    const items = this.closed.flatMap((batch) => batch.items);
    this.closed.length = 0;
    this.count = 0;
    return items;
  }

  /** Stops the linger timer. */
  dispose(): void {
    if (this.open.timer !== undefined) clearTimeout(this.open.timer);
    this.open.timer = undefined;
  }

  private closeOpen(): void {
    const open = this.open;
    if (open.items.length === 0) return;
    if (open.timer !== undefined) clearTimeout(open.timer);
    this.closed.push({ items: open.items, bytes: open.bytes });
    this.open = emptyBatch();
  }
}

function emptyBatch<T>(): OpenBatch<T> {
  return { items: [], bytes: 0, lingered: false, timer: undefined };
}
