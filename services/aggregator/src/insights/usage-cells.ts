/**
 * The counters every aggregate of the dashboard keeps, as fixed offsets into a Float64Array cell:
 * sums over the details that fell into the cell. Token counts below zero count as zero (a cost or
 * a token card never goes negative); latency sums only measured latencies (above zero).
 */
export const CELL = {
  requests: 0,
  failures: 1,
  totalTokens: 2,
  inputTokens: 3,
  outputTokens: 4,
  reasoningTokens: 5,
  cachedTokens: 6,
  /** Σ max(input − cached, 0): the input billed at the full input price. */
  uncachedInput: 7,
  latencySum: 8,
  latencyCount: 9,
} as const;

/** Numbers per cell. */
export const CELL_WIDTH = 10;

/** One detail's contribution to a cell (filled by {@link fillContribution}). */
export type Contribution = Float64Array;

/** A scratch contribution to fill for each detail. */
export function newContribution(): Contribution {
  return new Float64Array(CELL_WIDTH);
}

/** The counters of one detail. */
export interface DetailFigures {
  readonly failed: boolean;
  readonly totalTokens: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly reasoningTokens: number;
  readonly cachedTokens: number;
  readonly latencyMs: number;
}

/** Writes one detail's counters into `into`. */
export function fillContribution(into: Contribution, detail: DetailFigures): void {
  const input = Math.max(0, detail.inputTokens);
  const cached = Math.max(0, detail.cachedTokens);
  into[CELL.requests] = 1;
  into[CELL.failures] = detail.failed ? 1 : 0;
  into[CELL.totalTokens] = Math.max(0, detail.totalTokens);
  into[CELL.inputTokens] = input;
  into[CELL.outputTokens] = Math.max(0, detail.outputTokens);
  into[CELL.reasoningTokens] = Math.max(0, detail.reasoningTokens);
  into[CELL.cachedTokens] = cached;
  into[CELL.uncachedInput] = Math.max(0, input - cached);
  const measured = detail.latencyMs > 0;
  into[CELL.latencySum] = measured ? detail.latencyMs : 0;
  into[CELL.latencyCount] = measured ? 1 : 0;
}

/**
 * Cells keyed by a small integer (a model, an (API, model) pair, a credential): a Map from key to
 * the cell's offset in one growing Float64Array, so that adding a detail allocates nothing.
 */
export class CellTable {
  private readonly offsets = new Map<number, number>();
  private data = new Float64Array(CELL_WIDTH * 8);
  private used = 0;
  /** The key of each cell, by slot (offset / CELL_WIDTH): sums walk typed arrays, not the Map. */
  private slotKeys = new Int32Array(8);

  /** Adds `contribution` to the cell of `key` (created at zero when missing). */
  add(key: number, contribution: Contribution): void {
    let offset = this.offsets.get(key);
    if (offset === undefined) {
      offset = this.used;
      this.used += CELL_WIDTH;
      if (this.used > this.data.length) {
        const grown = new Float64Array(this.data.length * 2);
        grown.set(this.data);
        this.data = grown;
        const keys = new Int32Array(this.slotKeys.length * 2);
        keys.set(this.slotKeys);
        this.slotKeys = keys;
      }
      this.slotKeys[offset / CELL_WIDTH] = key;
      this.offsets.set(key, offset);
    }
    const data = this.data;
    for (let field = 0; field < CELL_WIDTH; field++) data[offset + field]! += contribution[field]!;
  }

  /** Adds every cell of this table into `into` (a sum per key), optionally mapping the key first. */
  addInto(into: Map<number, Float64Array>, mapKey: (key: number) => number = (key) => key): void {
    for (const [key, offset] of this.offsets) {
      const target = mapKey(key);
      let sum = into.get(target);
      if (sum === undefined) {
        sum = new Float64Array(CELL_WIDTH);
        into.set(target, sum);
      }
      for (let field = 0; field < CELL_WIDTH; field++) sum[field]! += this.data[offset + field]!;
    }
  }

  /**
   * Adds every cell into `sums`, a dense array of cells indexed by key (`key × CELL_WIDTH`), which
   * must be long enough for the largest key: the fast way to sum many tables over small keys.
   */
  addToDense(sums: Float64Array): void {
    const data = this.data;
    const keys = this.slotKeys;
    const slots = this.used / CELL_WIDTH;
    for (let slot = 0; slot < slots; slot++) {
      const base = keys[slot]! * CELL_WIDTH;
      const offset = slot * CELL_WIDTH;
      for (let field = 0; field < CELL_WIDTH; field++) sums[base + field]! += data[offset + field]!;
    }
  }

  /** Adds every cell of this table into one sum. */
  addAllInto(sum: Float64Array): void {
    for (const offset of this.offsets.values()) {
      for (let field = 0; field < CELL_WIDTH; field++) sum[field]! += this.data[offset + field]!;
    }
  }

  /** The keys present, in insertion order. */
  keys(): IterableIterator<number> {
    return this.offsets.keys();
  }

  /** A copy of the cell of `key`, or undefined. */
  cell(key: number): Float64Array | undefined {
    const offset = this.offsets.get(key);
    return offset === undefined ? undefined : this.data.slice(offset, offset + CELL_WIDTH);
  }

  get size(): number {
    return this.offsets.size;
  }
}

/** A table per time bucket (hour, minute), created on first use. */
export class BucketedCells {
  private readonly buckets = new Map<number, CellTable>();

  private lastBucket = Number.NaN;
  private lastTable: CellTable | undefined;

  /** Adds to the cell of `key` in `bucket` (details come mostly in time order: the last bucket is kept at hand). */
  add(bucket: number, key: number, contribution: Contribution): void {
    let table = bucket === this.lastBucket ? this.lastTable : this.buckets.get(bucket);
    if (table === undefined) {
      table = new CellTable();
      this.buckets.set(bucket, table);
    }
    this.lastBucket = bucket;
    this.lastTable = table;
    table.add(key, contribution);
  }

  /** The table of one bucket, if any detail fell into it. */
  bucket(bucket: number): CellTable | undefined {
    return this.buckets.get(bucket);
  }

  /** Every bucket at or after `from` (unordered). */
  *bucketsFrom(from: number): IterableIterator<[number, CellTable]> {
    for (const entry of this.buckets) if (entry[0] >= from) yield entry;
  }

  /** Drops every bucket before `before`. */
  dropBefore(before: number): void {
    for (const bucket of this.buckets.keys()) if (bucket < before) this.buckets.delete(bucket);
    this.lastBucket = Number.NaN;
    this.lastTable = undefined;
  }

  /** The earliest and latest bucket held, or undefined when empty. */
  extent(): { first: number; last: number } | undefined {
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const bucket of this.buckets.keys()) {
      if (bucket < first) first = bucket;
      if (bucket > last) last = bucket;
    }
    return first === Number.POSITIVE_INFINITY ? undefined : { first, last };
  }
}

/** A zeroed cell. */
export function emptyCell(): Float64Array {
  return new Float64Array(CELL_WIDTH);
}

/** The cells of `sums` (dense, by key; see {@link CellTable.addToDense}) that counted a request. */
export function* denseCells(sums: Float64Array): IterableIterator<[key: number, cell: Float64Array]> {
  for (let base = 0, key = 0; base < sums.length; base += CELL_WIDTH, key++) {
    if (sums[base + CELL.requests]! > 0) yield [key, sums.subarray(base, base + CELL_WIDTH)];
  }
}
