/**
 * The reading half of the specialised fast decoders ({@link decodeUsageRecord} and
 * {@link decodeDetailChunk} for bytes of the current schemas): Avro binary primitives read straight
 * from a buffer, the same values avsc reads. Anything unusual (a read past the end, a varint over
 * 10 bytes, a long beyond avsc's bound, an int beyond 32 bits, a negative length, a union index out
 * of range, several array blocks) throws {@link FALL_BACK}: the caller then decodes the same bytes
 * with the avsc path, which decides the outcome (a value or the exact `WireError` of today). So a
 * fast decoder only ever returns what the avsc path returns; it never makes an error of its own.
 *
 * @module
 */

import type { StringInterner } from "./string-interner";

/** Thrown by an {@link AvroReader} for bytes it leaves to the avsc path (one shared instance, never seen by callers). */
export const FALL_BACK: Error = new Error("fall back to the avsc decoder");

/** avsc's bound of a long it reads or writes: ±(2^53 − 2). */
const AVSC_MAX_LONG = 9_007_199_254_740_990;

const MAX_INT = 2_147_483_647;
const MIN_INT = -2_147_483_648;

/** `Buffer#utf8Slice`: the decoder avsc uses for strings (invalid UTF-8 becomes U+FFFD); not in Node's typings. */
type Utf8Buffer = Buffer & { utf8Slice(start: number, end: number): string };

const EMPTY = Buffer.alloc(0) as Utf8Buffer;

/**
 * A cursor over one Avro binary body. Reusable: {@link reset} before each body. Not reentrant
 * (decoding is synchronous, and each fast decoder owns one reader).
 */
export class AvroReader {
  buf: Utf8Buffer = EMPTY;
  pos = 0;
  end = 0;
  /** False once a string read by {@link string} is not ASCII or is longer than its limit (see there). */
  plain = true;
  /** The smallest value {@link longColumn} stored beyond the ±2^35 its inline reads cover (0 if none): at or above −2^52, every value is a wire integer. */
  lowestLong = 0;

  constructor(private readonly interner: StringInterner | undefined) {}

  /** Starts reading `buf` at `pos` (the whole rest of `buf` is the body). */
  reset(buf: Buffer, pos: number): void {
    this.buf = buf as Utf8Buffer;
    this.pos = pos;
    this.end = buf.length;
    this.plain = true;
    this.lowestLong = 0;
  }

  /**
   * A zigzag varint with avsc's exact arithmetic (`Tap#readLong`: integer arithmetic for the first
   * 28 bits, then float arithmetic), so every value, even one beyond 2^53, is the one avsc reads.
   * Unchecked: {@link long}, {@link int} and {@link length} check the range.
   */
  varint(): number {
    const buf = this.buf;
    const end = this.end;
    const start = this.pos;
    let pos = start;
    if (pos >= end) throw FALL_BACK;
    let b = buf[pos++] as number;
    if (b < 0x80) {
      this.pos = pos;
      return (b >> 1) ^ -(b & 1);
    }
    let n = b & 0x7f;
    let k = 7;
    do {
      if (pos >= end) throw FALL_BACK;
      b = buf[pos++] as number;
      n |= (b & 0x7f) << k;
      k += 7;
    } while (b & 0x80 && k < 28);
    if (b & 0x80) {
      let f = n;
      let fk = 268_435_456;
      do {
        // avsc reads any number of bytes; the structure check refuses more than 10: leave both to the avsc path.
        if (pos >= end || pos - start >= 10) throw FALL_BACK;
        b = buf[pos++] as number;
        f += (b & 0x7f) * fk;
        fk *= 128;
      } while (b & 0x80);
      this.pos = pos;
      return (f % 2 ? -(f + 1) : f) / 2;
    }
    this.pos = pos;
    return (n >> 1) ^ -(n & 1);
  }

  /** An Avro long within avsc's bound (beyond it avsc throws "potential precision loss"). */
  long(): number {
    const value = this.varint();
    if (value > AVSC_MAX_LONG || value < -AVSC_MAX_LONG) throw FALL_BACK;
    return value;
  }

  /** An Avro int (avsc reads any varint for an int; one beyond 32 bits is left to it). */
  int(): number {
    const value = this.varint();
    if (value > MAX_INT || value < MIN_INT) throw FALL_BACK;
    return value;
  }

  /** An Avro boolean as avsc reads it (any non-zero byte is true). */
  boolean(): boolean {
    if (this.pos >= this.end) throw FALL_BACK;
    return this.buf[this.pos++] !== 0;
  }

  /** The index of a `["null", T]` union: true when T follows. */
  present(): boolean {
    const pos = this.pos;
    if (pos >= this.end) throw FALL_BACK;
    const b = this.buf[pos];
    this.pos = pos + 1;
    // Zigzag 0 and 1 are the bytes 0 and 2; anything else (another index, a longer varint) goes to avsc.
    if (b === 0) return false;
    if (b === 2) return true;
    throw FALL_BACK;
  }

  /** A `["null", "long"]` union: `undefined` for null. */
  optionalLong(): number | undefined {
    return this.present() ? this.long() : undefined;
  }

  /** A `["null", "string"]` union: `undefined` for null (see {@link string}). */
  optionalString(limit: number): string | undefined {
    return this.present() ? this.string(limit) : undefined;
  }

  /** The length of a string or bytes, within the body. */
  length(): number {
    const length = this.varint();
    if (length < 0 || length > this.end - this.pos) throw FALL_BACK;
    return length;
  }

  /**
   * A string, decoded as avsc does (`utf8Slice`); strings of up to the interner's size come from
   * it. Clears {@link plain} when the string is not ASCII or longer than `limit` UTF-8 bytes (a
   * record with such a string gets the full validation).
   */
  string(limit: number): string {
    let pos = this.pos;
    const b = pos < this.end ? (this.buf[pos] as number) : 1;
    let length: number;
    // Lengths below 64 are one even byte: read here rather than through varint() (most strings are short).
    if ((b & 0x81) === 0) {
      length = b >> 1;
      pos++;
      if (length > this.end - pos) throw FALL_BACK;
    } else {
      length = this.length();
      pos = this.pos;
    }
    const end = pos + length;
    this.pos = end;
    if (length === 0) return "";
    const interner = this.interner;
    if (interner !== undefined && length <= interner.maxBytes) {
      const text = interner.get(this.buf, pos, end);
      if (interner.nonAscii || length > limit) this.plain = false;
      return text;
    }
    if (length > limit || !isAscii(this.buf, pos, end)) this.plain = false;
    return this.buf.utf8Slice(pos, end);
  }

  /** A string that is not interned (unique values such as request ids). */
  uniqueString(limit: number): string {
    const length = this.length();
    const start = this.pos;
    const end = start + length;
    this.pos = end;
    if (length > limit || !isAscii(this.buf, start, end)) this.plain = false;
    return length === 0 ? "" : this.buf.utf8Slice(start, end);
  }

  /**
   * The item count of an array written as avsc and other writers write it: one block of `count`
   * items (then a 0), or just a 0 when empty. A negative (sized) block or a count beyond the bytes
   * left is left to the avsc path (its structure check decides).
   */
  blockCount(): number {
    const count = this.varint();
    if (count < 0 || count > this.end - this.pos) throw FALL_BACK;
    return count;
  }

  /** The 0 that ends a non-empty array (a further block is left to the avsc path). */
  blockEnd(): void {
    if (this.pos >= this.end || this.buf[this.pos] !== 0) throw FALL_BACK;
    this.pos++;
  }

  /** `count` Avro ints into `out` (a Uint32Array stores them as `Uint32Array.from` does: modulo 2^32). */
  intColumn(out: Uint32Array | Int32Array, count: number): void {
    const buf = this.buf;
    let pos = this.pos;
    // Ten bytes left cover any varint the fast loop reads; near the end every read goes through int().
    const safeEnd = this.end - 10;
    for (let i = 0; i < count; i++) {
      if (pos < safeEnd) {
        let b = buf[pos++] as number;
        let n = b & 0x7f;
        if (b < 0x80) {
          out[i] = (n >> 1) ^ -(n & 1);
          continue;
        }
        b = buf[pos++] as number;
        n |= (b & 0x7f) << 7;
        if (b < 0x80) {
          out[i] = (n >> 1) ^ -(n & 1);
          continue;
        }
        b = buf[pos++] as number;
        n |= (b & 0x7f) << 14;
        if (b < 0x80) {
          out[i] = (n >> 1) ^ -(n & 1);
          continue;
        }
        b = buf[pos++] as number;
        n |= (b & 0x7f) << 21;
        if (b < 0x80) {
          out[i] = (n >> 1) ^ -(n & 1);
          continue;
        }
        // The fifth byte in avsc's float arithmetic (nanos take five bytes); beyond 32 bits, int() decides.
        b = buf[pos++] as number;
        if (b < 0x80) {
          const f = n + b * 268_435_456;
          const value = (f % 2 ? -(f + 1) : f) / 2;
          if (value <= MAX_INT && value >= MIN_INT) {
            out[i] = value;
            continue;
          }
        }
        pos -= 5;
      }
      this.pos = pos;
      out[i] = this.int();
      pos = this.pos;
    }
    this.pos = pos;
  }

  /** `count` Avro longs into `out`, each within avsc's bound. */
  longColumn(out: Float64Array, count: number): void {
    const buf = this.buf;
    let pos = this.pos;
    const safeEnd = this.end - 10;
    for (let i = 0; i < count; i++) {
      if (pos < safeEnd) {
        let b = buf[pos++] as number;
        let n = b & 0x7f;
        if (b < 0x80) {
          out[i] = (n >> 1) ^ -(n & 1);
          continue;
        }
        b = buf[pos++] as number;
        n |= (b & 0x7f) << 7;
        if (b < 0x80) {
          out[i] = (n >> 1) ^ -(n & 1);
          continue;
        }
        b = buf[pos++] as number;
        n |= (b & 0x7f) << 14;
        if (b < 0x80) {
          out[i] = (n >> 1) ^ -(n & 1);
          continue;
        }
        b = buf[pos++] as number;
        n |= (b & 0x7f) << 21;
        if (b < 0x80) {
          out[i] = (n >> 1) ^ -(n & 1);
          continue;
        }
        // The fifth byte in avsc's float arithmetic (epoch seconds take five bytes).
        b = buf[pos++] as number;
        if (b < 0x80) {
          const f = n + b * 268_435_456;
          out[i] = (f % 2 ? -(f + 1) : f) / 2;
          continue;
        }
        pos -= 5;
      }
      this.pos = pos;
      const value = this.long();
      if (value < this.lowestLong) this.lowestLong = value;
      out[i] = value;
      pos = this.pos;
    }
    this.pos = pos;
  }
}

/** The two little-endian 32-bit words of a fingerprint, as a single-object header holds them. */
export function fingerprintWords(fingerprint: bigint): { readonly low: number; readonly high: number } {
  return { low: Number(fingerprint & 0xffffffffn), high: Number(fingerprint >> 32n) };
}

/** Whether `bytes` start with `C3 01` and the fingerprint of words `low`, `high` (and so hold a body). */
export function hasHeader(bytes: Uint8Array, low: number, high: number): boolean {
  return bytes.length >= HEADER_BYTES && bytes[0] === 0xc3 && bytes[1] === 0x01 && word(bytes, 2) === low && word(bytes, 6) === high;
}

/** Bytes of a single-object header: marker and fingerprint. */
export const HEADER_BYTES = 10;

/** The buffer of `bytes` (a view, no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function word(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>> 0
  );
}

function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  let bits = 0;
  for (let i = start; i < end; i++) bits |= buf[i] as number;
  return bits < 0x80;
}
