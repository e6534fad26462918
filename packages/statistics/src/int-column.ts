/** The Int32 value that marks "the real value is in the overflow table". */
const OVERFLOW = -2147483648;

/**
 * A growable column of safe integers stored as Int32 (4 bytes a row); the rare value outside
 * -2^31+1 .. 2^31-1 goes to a side table keyed by row. Token counts and latencies are almost always
 * small, so the side table stays empty in practice while any int64-like safe integer stays exact.
 */
export class IntColumn {
  data: Int32Array;
  private overflow: Map<number, number> | undefined;

  constructor(capacity: number) {
    this.data = new Int32Array(capacity);
  }

  /** The value at `row`. */
  get(row: number): number {
    const value = this.data[row]!;
    return value !== OVERFLOW ? value : this.overflow!.get(row)!;
  }

  /** Stores `value` (a safe integer) at `row`. */
  set(row: number, value: number): void {
    if ((value | 0) === value && value !== OVERFLOW) {
      this.data[row] = value;
    } else {
      this.data[row] = OVERFLOW;
      (this.overflow ??= new Map()).set(row, value);
    }
  }

  /** Copies the column into a buffer of `capacity` rows (never shrinks below the used rows). */
  resize(capacity: number, used: number): void {
    const next = new Int32Array(capacity);
    next.set(this.data.subarray(0, Math.min(used, capacity)));
    this.data = next;
  }

  /** Rows kept in the side table. */
  get overflowCount(): number {
    return this.overflow?.size ?? 0;
  }

  /** Empties the column, keeping a buffer of `capacity` rows. */
  reset(capacity: number): void {
    this.data = new Int32Array(capacity);
    this.overflow = undefined;
  }
}
