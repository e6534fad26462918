import { SnapshotError } from "../errors";

/**
 * Bytes a record needs on the broker besides its key and value: the record batch header (61 bytes,
 * counted by the broker against max.message.bytes together with the 12-byte log overhead), the
 * record's own varint fields and no headers, rounded up generously. A chunk value is at most
 * `max.message.bytes − RECORD_OVERHEAD_BYTES − key bytes`, so one chunk per produce call can never be
 * refused as too large.
 */
export const RECORD_OVERHEAD_BYTES = 512;

/** The largest value a record with this key may carry on a topic with this max.message.bytes. */
export function maxValueBytes(maxMessageBytes: number, keyBytes: number): number {
  return maxMessageBytes - RECORD_OVERHEAD_BYTES - keyBytes;
}

/** One chunk of a split: details `[from, to)` and their encoded value. */
export interface ChunkPiece {
  readonly from: number;
  readonly to: number;
  readonly value: Buffer;
}

/** Options of {@link splitDetails}. */
export interface SplitOptions {
  /** First detail to write. */
  readonly from: number;
  /** One past the last detail to write. */
  readonly to: number;
  /** Largest encoded value allowed for one chunk. */
  readonly maxValueBytes: number;
  /** Encodes details `[from, to)` as one chunk value (index = position of the chunk in the split). */
  readonly encode: (from: number, to: number, index: number) => Buffer;
  /** First guess of encoded bytes per detail, corrected from each encoded chunk. Default 32. */
  readonly bytesPerDetailHint?: number;
  /** Upper bound of details in one chunk. Default 1,000,000. */
  readonly maxDetailsPerChunk?: number;
}

/** Chunks aim at this share of the limit, so a slightly-off estimate rarely needs a second encode. */
const FILL = 0.9;

/**
 * Splits details `[from, to)` into consecutive chunks whose encoded values are each at most
 * `maxValueBytes`, by encoded size: each chunk's detail count comes from the bytes per detail seen so
 * far; a chunk that comes out too large is re-encoded with proportionally fewer details (one far too
 * small, with more details to come, with more). Yields
 * nothing when `from === to`. Throws `SNAPSHOT_OVERSIZE` when a single detail does not fit.
 */
export function* splitDetails(options: SplitOptions): Generator<ChunkPiece, void, undefined> {
  const { from, to, maxValueBytes: limit, encode } = options;
  const maxDetails = options.maxDetailsPerChunk ?? 1_000_000;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) {
    throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", `detail range [${String(from)}, ${String(to)}) is not a range`);
  }
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", `maxValueBytes must be a positive integer, got ${String(limit)}`);
  }
  let bytesPerDetail = options.bytesPerDetailHint ?? 32;
  let position = from;
  let index = 0;
  while (position < to) {
    const fit = (perDetail: number): number => Math.max(1, Math.min(to - position, maxDetails, Math.floor((limit * FILL) / perDetail)));
    let count = fit(bytesPerDetail);
    let value = encode(position, position + count, index);
    // Far under the target with more to come (a first guess too pessimistic): re-encode fuller, a few times at most.
    for (let grow = 0; grow < 3 && value.length < (limit * FILL) / 2 && count < fit(value.length / count); grow++) {
      count = fit(value.length / count);
      value = encode(position, position + count, index);
    }
    while (value.length > limit) {
      if (count === 1) {
        throw new SnapshotError(
          "SNAPSHOT_OVERSIZE",
          `detail ${String(position)} alone encodes to ${String(value.length)} bytes, more than the ${String(limit)} a chunk may hold`,
        );
      }
      count = Math.max(1, Math.min(count - 1, Math.floor((count * limit * FILL) / value.length)));
      value = encode(position, position + count, index);
    }
    yield { from: position, to: position + count, value };
    bytesPerDetail = Math.max(1, value.length / count);
    position += count;
    index += 1;
  }
}
