/**
 * The writing half of the specialised chunk encoder: Avro binary primitives written with avsc's
 * exact algorithms (`Tap#writeLong`, `Tap#writeString`), so its bytes are avsc's bytes, lone UTF-16
 * surrogates included. Values are the caller's to check first (avsc's own type checks are not
 * repeated: the chunk check admits only values avsc writes).
 *
 * @module
 */

/** `Buffer#utf8Write` (what avsc writes strings over 64 bytes with); not in Node's typings. */
type Utf8Buffer = Buffer & { utf8Write(text: string, offset: number, length: number): number };

/** A growable output buffer. Reusable: {@link reset} before each value. Not reentrant. */
export class AvroWriter {
  buf: Utf8Buffer;
  pos = 0;

  constructor(initialBytes: number) {
    this.buf = Buffer.allocUnsafe(initialBytes) as Utf8Buffer;
  }

  /** Starts a new value at position 0. */
  reset(): void {
    this.pos = 0;
  }

  /** Makes room for `bytes` more bytes (keeping what is written). */
  reserve(bytes: number): void {
    const needed = this.pos + bytes;
    if (needed > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.buf.length)) as Utf8Buffer;
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
  }

  /** Raw bytes. The caller reserves room. */
  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** A long or int (avsc's `Tap#writeLong`, at most 10 bytes). The caller reserves room. */
  long(n: number): void {
    const buf = this.buf;
    let pos = this.pos;
    if (n >= -1_073_741_824 && n < 1_073_741_824) {
      let m = n >= 0 ? n << 1 : (~n << 1) | 1;
      while (m > 0x7f) {
        buf[pos++] = (m & 0x7f) | 0x80;
        m >>= 7;
      }
      buf[pos++] = m;
    } else {
      let f = n >= 0 ? n * 2 : -n * 2 - 1;
      for (;;) {
        const low = f & 0x7f;
        f /= 128;
        if (f < 1) {
          buf[pos++] = low;
          break;
        }
        buf[pos++] = low | 0x80;
      }
    }
    this.pos = pos;
  }

  /** The first `count` values of an int or long column as one array block (avsc writes no block for none). */
  column(values: Uint32Array | Int32Array | Float64Array, count: number): void {
    this.reserve(count * 10 + 20);
    if (count > 0) {
      this.long(count);
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < count; i++) {
        const n = values[i] as number;
        if (n >= 0 && n < 64) {
          buf[pos++] = n << 1;
        } else {
          this.pos = pos;
          this.long(n);
          pos = this.pos;
        }
      }
      this.pos = pos;
    }
    this.buf[this.pos++] = 0;
  }

  /** A string as avsc writes it: its UTF-8 length, then the bytes (a lone surrogate as its 3-byte form up to 64 bytes, as U+FFFD beyond). */
  string(text: string): void {
    const length = Buffer.byteLength(text);
    this.reserve(length + 10);
    this.long(length);
    const buf = this.buf;
    let pos = this.pos;
    this.pos = pos + length;
    if (length > 64) {
      buf.utf8Write(text, pos, length);
      return;
    }
    for (let i = 0; i < text.length; i++) {
      let c1 = text.charCodeAt(i);
      let c2: number;
      if (c1 < 0x80) {
        buf[pos++] = c1;
      } else if (c1 < 0x800) {
        buf[pos++] = (c1 >> 6) | 0xc0;
        buf[pos++] = (c1 & 0x3f) | 0x80;
      } else if ((c1 & 0xfc00) === 0xd800 && ((c2 = text.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
        c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff);
        i++;
        buf[pos++] = (c1 >> 18) | 0xf0;
        buf[pos++] = ((c1 >> 12) & 0x3f) | 0x80;
        buf[pos++] = ((c1 >> 6) & 0x3f) | 0x80;
        buf[pos++] = (c1 & 0x3f) | 0x80;
      } else {
        buf[pos++] = (c1 >> 12) | 0xe0;
        buf[pos++] = ((c1 >> 6) & 0x3f) | 0x80;
        buf[pos++] = (c1 & 0x3f) | 0x80;
      }
    }
  }

  /** A copy of the bytes written. */
  output(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}
