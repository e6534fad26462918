/*
 * A UTF-8 byte buffer for writing large JSON text without a string per piece: numbers are written
 * as digits, constant and cached pieces are copied as bytes, and each full buffer is decoded to one
 * string chunk. TextEncoder and TextDecoder are globals of every JS runtime (no import, no I/O).
 */

declare const TextEncoder: new () => { encode(input: string): Uint8Array };
declare const TextDecoder: new () => { decode(input: Uint8Array): string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Chunks are handed out once the buffer holds this many bytes (at a value boundary). */
const CHUNK_BYTES = 1 << 16;

/** Writes JSON text as UTF-8 bytes and hands it to `write` in chunks of about 64 KiB. */
export class JsonBytes {
  private buffer = new Uint8Array(2 * CHUNK_BYTES);
  private length = 0;

  constructor(private readonly write: (chunk: string) => void) {}

  /** Copies bytes (a constant piece or a cached JSON string literal). */
  bytes(piece: Uint8Array): void {
    this.reserve(piece.length);
    this.buffer.set(piece, this.length);
    this.length += piece.length;
  }

  /** Writes an ASCII text (the caller guarantees it needs no escaping and no UTF-8 encoding). */
  ascii(text: string): void {
    this.reserve(text.length);
    const buffer = this.buffer;
    let at = this.length;
    for (let i = 0; i < text.length; i++) buffer[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** Writes a safe integer in decimal, as Go writes an int64. */
  int(value: number): void {
    this.reserve(17);
    const buffer = this.buffer;
    if (value < 0) {
      buffer[this.length++] = 45;
      value = -value;
    }
    if (value < 10) {
      buffer[this.length++] = 48 + value;
      return;
    }
    let digits = 0;
    for (let rest = value; rest >= 1; rest = Math.floor(rest / 10)) digits++;
    let at = this.length + digits;
    this.length = at;
    while (value >= 2147483648) {
      const next = Math.floor(value / 10);
      buffer[--at] = 48 + (value - next * 10);
      value = next;
    }
    let small = value | 0;
    do {
      const next = (small / 10) | 0;
      buffer[--at] = 48 + (small - next * 10);
      small = next;
    } while (small > 0);
  }

  /** Writes `value` (0..99) as two digits. */
  twoDigits(value: number): void {
    this.reserve(2);
    const tens = (value / 10) | 0;
    this.buffer[this.length++] = 48 + tens;
    this.buffer[this.length++] = 48 + value - tens * 10;
  }

  /** Writes Go's `.999999999` fraction of `nanos`: nothing for 0, else trailing zeros trimmed. */
  fraction(nanos: number): void {
    if (nanos === 0) return;
    this.reserve(10);
    const buffer = this.buffer;
    let end = 9;
    while (nanos % 10 === 0) {
      nanos /= 10;
      end--;
    }
    const start = this.length;
    buffer[start] = 46;
    for (let i = end; i >= 1; i--) {
      const next = (nanos / 10) | 0;
      buffer[start + i] = 48 + nanos - next * 10;
      nanos = next;
    }
    this.length = start + end + 1;
  }

  /** Hands out the bytes written so far when they reach a chunk (call at value boundaries only). */
  maybeFlush(): void {
    if (this.length >= CHUNK_BYTES) this.flush();
  }

  /** Hands out everything written so far. */
  flush(): void {
    if (this.length === 0) return;
    this.write(decoder.decode(this.buffer.subarray(0, this.length)));
    this.length = 0;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    this.flush();
    if (extra > this.buffer.length) this.buffer = new Uint8Array(extra * 2);
  }
}
