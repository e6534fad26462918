/** Options of {@link StringInterner}. */
export interface StringInternerOptions {
  /** Number of slots, a power of two (default 1024). */
  readonly slots?: number;
  /** Longest string (in UTF-8 bytes) the interner keeps (default 64); longer ones are the caller's. */
  readonly maxBytes?: number;
}

/** `Buffer#utf8Slice` (what avsc decodes strings with); not in Node's typings. */
type Utf8Buffer = Buffer & { utf8Slice(start: number, end: number): string };

/**
 * A small, fixed-size cache of decoded strings keyed by their raw UTF-8 bytes: a direct-mapped
 * table (hash of the bytes → slot) holding a copy of the bytes and the string decoded from them.
 * A hit returns the same string object without decoding or allocating; a miss decodes and replaces
 * the slot. Its memory is bounded by `slots × maxBytes` plus the cached strings, whatever the input.
 * Safe to share: strings are immutable, and a hit is only taken when every byte matches, so the
 * result is always exactly what decoding the bytes gives.
 *
 * Usage records repeat a few hundred short strings (API keys, models, providers, endpoints,
 * sources, auth types and indexes, node ids): interning saves their decoding and garbage, and
 * hands the statistics store the same string objects again (their hashes already computed).
 */
export class StringInterner {
  /** Longest string (UTF-8 bytes) {@link get} accepts. */
  readonly maxBytes: number;
  /** Whether the bytes of the last {@link get} held a byte of 0x80 or above (not ASCII). */
  nonAscii = false;
  private readonly mask: number;
  private readonly wordsPerSlot: number;
  /** The cached bytes, slot by slot, as little-endian 32-bit words (the last one zero-padded). */
  private readonly words: Int32Array;
  private readonly lengths: Int32Array;
  private readonly strings: string[];
  /** The words of the bytes being looked up. */
  private readonly scratch: Int32Array;

  constructor(options: StringInternerOptions = {}) {
    const slots = options.slots ?? 1024;
    if (!Number.isInteger(slots) || slots < 1 || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`slots must be a power of two, got ${String(slots)}`);
    }
    const maxBytes = options.maxBytes ?? 64;
    if (!Number.isInteger(maxBytes) || maxBytes < 0 || maxBytes > 4096) {
      throw new RangeError(`maxBytes must be an integer in 0..4096, got ${String(maxBytes)}`);
    }
    this.maxBytes = maxBytes;
    this.mask = slots - 1;
    this.wordsPerSlot = Math.ceil(maxBytes / 4);
    this.words = new Int32Array(slots * this.wordsPerSlot);
    this.lengths = new Int32Array(slots).fill(-1);
    this.strings = new Array<string>(slots).fill("");
    this.scratch = new Int32Array(this.wordsPerSlot);
  }

  /** The string of the UTF-8 bytes `buf[start..end)` (at most {@link maxBytes} of them), as `utf8Slice` decodes it. */
  get(buf: Buffer, start: number, end: number): string {
    const length = end - start;
    const scratch = this.scratch;
    // Four bytes at a time: a quarter of the multiplications of a byte-wise hash, and word compares below.
    let hash = length;
    let bits = 0;
    let n = 0;
    let i = start;
    for (; i + 4 <= end; i += 4) {
      const word = (buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24);
      bits |= word;
      scratch[n++] = word;
      hash = Math.imul(hash ^ word, 0x9e3779b1);
    }
    if (i < end) {
      let word = 0;
      for (let shift = 0; i < end; i++, shift += 8) word |= (buf[i] as number) << shift;
      bits |= word;
      scratch[n++] = word;
      hash = Math.imul(hash ^ word, 0x9e3779b1);
    }
    this.nonAscii = (bits & 0x80808080) !== 0;
    const slot = (hash ^ (hash >>> 16)) & this.mask;
    const words = this.words;
    const base = slot * this.wordsPerSlot;
    if (this.lengths[slot] === length) {
      let k = 0;
      while (k < n && words[base + k] === scratch[k]) k++;
      if (k === n) return this.strings[slot] as string;
    }
    const text = (buf as Utf8Buffer).utf8Slice(start, end);
    for (let k = 0; k < n; k++) words[base + k] = scratch[k] as number;
    this.lengths[slot] = length;
    this.strings[slot] = text;
    return text;
  }
}
