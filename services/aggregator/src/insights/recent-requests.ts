/** One request kept for the recent-requests table (names as ids of the insights' name tables). */
export interface RecentEntry {
  readonly epochSeconds: number;
  readonly nanos: number;
  readonly offsetSeconds: number;
  readonly api: number;
  readonly model: number;
  readonly credential: number;
  readonly failed: boolean;
  readonly latencyMs: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly reasoningTokens: number;
  readonly cachedTokens: number;
  readonly totalTokens: number;
}

/** True when `a` is earlier than `b`. */
function earlier(a: RecentEntry, b: RecentEntry): boolean {
  return a.epochSeconds < b.epochSeconds || (a.epochSeconds === b.epochSeconds && a.nanos < b.nanos);
}

/**
 * The `capacity` latest requests by timestamp (not by arrival: an import of old details does not
 * push recent ones out), in a binary min-heap on the timestamp: O(log capacity) per detail, and a
 * query filters and sorts at most `capacity` entries, never the whole history.
 */
export class RecentRequests {
  private readonly heap: RecentEntry[] = [];
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Offers a request; kept when it is among the `capacity` latest. */
  offer(entry: RecentEntry): void {
    const heap = this.heap;
    if (heap.length < this.capacity) {
      heap.push(entry);
      this.siftUp(heap.length - 1);
      return;
    }
    const oldest = heap[0];
    if (oldest === undefined || !earlier(oldest, entry)) return;
    heap[0] = entry;
    this.siftDown(0);
  }

  /** True when a request at this time would be kept (checked before building its entry). */
  wouldKeep(epochSeconds: number, nanos: number): boolean {
    const oldest = this.heap[0];
    if (this.heap.length < this.capacity || oldest === undefined) return true;
    return oldest.epochSeconds < epochSeconds || (oldest.epochSeconds === epochSeconds && oldest.nanos < nanos);
  }

  /** The entries that pass `keep`, latest first. */
  latest(keep: (entry: RecentEntry) => boolean): RecentEntry[] {
    const chosen = this.heap.filter(keep);
    chosen.sort((a, b) => (earlier(a, b) ? 1 : earlier(b, a) ? -1 : 0));
    return chosen;
  }

  get size(): number {
    return this.heap.length;
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    const entry = heap[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = heap[parent]!;
      if (!earlier(entry, above)) break;
      heap[index] = above;
      index = parent;
    }
    heap[index] = entry;
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    const entry = heap[index]!;
    const length = heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && earlier(heap[right]!, heap[left]!) ? right : left;
      if (!earlier(heap[child]!, entry)) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = entry;
  }
}
