/*
 * Detail rows as int32 fields, ten per row, in fixed chunks of 65,536 rows. Every operation on a
 * detail touches all of its fields (append writes them, dedup verification and snapshots read them),
 * so one row's fields sit together: one or two cache lines per row instead of one per column.
 * Growing allocates one more chunk and never copies; the slack is at most one chunk.
 */

const CHUNK_BITS = 16;
/** Rows per chunk. */
const CHUNK_ROWS = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_ROWS - 1;

/** Int32 fields of a row. */
const STRIDE = 10;
/** Field offsets within a row. */
export const CONTEXT = 0;
export const CRED = 1;
export const EPOCH = 2;
export const NANOS = 3;
export const LATENCY = 4;
export const INPUT = 5;
export const OUTPUT = 6;
export const REASONING = 7;
export const CACHED = 8;
export const TOTAL = 9;

/** The Int32 value that marks "the real value is in the overflow table". */
const OVERFLOW = -2147483648;

/**
 * Rows of ten int32 fields. The wide fields (epoch, latency, tokens) hold any safe integer: a value
 * outside -2^31+1 .. 2^31-1 is kept in a side table keyed by row and field (token counts and
 * latencies are almost always small, so it stays empty in practice while int64-like values stay exact).
 */
export class RowChunks {
  readonly chunks: Int32Array[] = [];
  private overflow: Map<number, number> | undefined;

  /** Rows allocated. */
  get capacity(): number {
    return this.chunks.length * CHUNK_ROWS;
  }

  /** Allocates chunks until `rows` rows fit. */
  ensure(rows: number): void {
    while (this.chunks.length * CHUNK_ROWS < rows) this.chunks.push(new Int32Array(CHUNK_ROWS * STRIDE));
  }

  /** The chunk holding `row`. */
  chunkOf(row: number): Int32Array {
    return this.chunks[row >>> CHUNK_BITS]!;
  }

  /** Offset of `row`'s first field within its chunk. */
  baseOf(row: number): number {
    return (row & CHUNK_MASK) * STRIDE;
  }

  /** A plain int32 field. */
  get(row: number, field: number): number {
    return this.chunks[row >>> CHUNK_BITS]![(row & CHUNK_MASK) * STRIDE + field]!;
  }

  /** A wide (safe integer) field. */
  getWide(row: number, field: number): number {
    const value = this.chunks[row >>> CHUNK_BITS]![(row & CHUNK_MASK) * STRIDE + field]!;
    return value !== OVERFLOW ? value : this.overflow!.get(row * STRIDE + field)!;
  }

  /** A wide field read from a chunk and offset already at hand (hot paths). */
  wideAt(chunk: Int32Array, offset: number, row: number, field: number): number {
    const value = chunk[offset]!;
    return value !== OVERFLOW ? value : this.overflow!.get(row * STRIDE + field)!;
  }

  /** Writes a wide field (a safe integer) into a chunk and offset already at hand. */
  putWide(chunk: Int32Array, offset: number, row: number, field: number, value: number): void {
    if ((value | 0) === value && value !== OVERFLOW) {
      chunk[offset] = value;
    } else {
      chunk[offset] = OVERFLOW;
      (this.overflow ??= new Map()).set(row * STRIDE + field, value);
    }
  }

  /** Values kept in the side table. */
  get overflowCount(): number {
    return this.overflow?.size ?? 0;
  }

  /** Bytes of the chunks (the side table, about 50 bytes per overflowing value, is not counted). */
  get byteLength(): number {
    return this.chunks.length * CHUNK_ROWS * STRIDE * 4;
  }
}
