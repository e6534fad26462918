import { BridgeError } from "../errors";

/**
 * RESP2 (the Redis serialization protocol, version 2), as CLIProxyAPI's usage queue speaks it on
 * its management port: commands go out as arrays of bulk strings, replies come back as any RESP2
 * value. Written here because no redis client is a dependency of the project.
 */

/** One RESP2 value. A nil bulk string is `{type: "bulk", value: null}`, a nil array `{type: "array", value: null}`. */
export type RespValue =
  | { readonly type: "simple"; readonly value: string }
  | { readonly type: "error"; readonly message: string }
  | { readonly type: "integer"; readonly value: number }
  | { readonly type: "bulk"; readonly value: Buffer | null }
  | { readonly type: "array"; readonly value: readonly RespValue[] | null };

/** Limits that keep a broken or hostile peer from making the decoder buffer without bound. */
export interface RespLimits {
  /** Longest bulk string accepted, bytes; default 64 MiB. */
  readonly maxBulkBytes: number;
  /** Most elements in one array; default 1,000,000. */
  readonly maxArrayLength: number;
  /** Longest type line (`+…`, `-…`, `:…`, `$n`, `*n`) before its CRLF, bytes; default 64 KiB. */
  readonly maxLineBytes: number;
  /** Deepest nesting of arrays; default 8 (usage-queue replies nest one level). */
  readonly maxDepth: number;
}

/** The default {@link RespLimits}. */
const DEFAULT_RESP_LIMITS: RespLimits = Object.freeze({
  maxBulkBytes: 64 * 1024 * 1024,
  maxArrayLength: 1_000_000,
  maxLineBytes: 64 * 1024,
  maxDepth: 8,
});

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from("\r\n");

/** Encodes one command as a RESP array of bulk strings: `*<n>\r\n$<len>\r\n<arg>\r\n…`. */
export function encodeCommand(args: ReadonlyArray<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** Encodes any RESP2 value (used to write replies in tests and tools). */
export function encodeValue(value: RespValue): Buffer {
  switch (value.type) {
    case "simple":
      return Buffer.from(`+${value.value}\r\n`);
    case "error":
      return Buffer.from(`-${value.message}\r\n`);
    case "integer":
      return Buffer.from(`:${value.value}\r\n`);
    case "bulk":
      return value.value === null ? Buffer.from("$-1\r\n") : Buffer.concat([Buffer.from(`$${value.value.length}\r\n`), value.value, CRLF]);
    case "array":
      return value.value === null
        ? Buffer.from("*-1\r\n")
        : Buffer.concat([Buffer.from(`*${value.value.length}\r\n`), ...value.value.map(encodeValue)]);
  }
}

/** A marker: the buffered bytes end inside a value. */
const INCOMPLETE = Symbol("incomplete");

/**
 * An incremental RESP2 decoder: feed it socket chunks with {@link RespDecoder.push}, take the
 * complete values out. Bytes that do not follow RESP2 throw `BRIDGE_PROTOCOL_ERROR` (the caller
 * closes the connection: nothing after a framing error can be trusted).
 */
export class RespDecoder {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly limits: RespLimits;

  constructor(limits: Partial<RespLimits> = {}) {
    this.limits = { ...DEFAULT_RESP_LIMITS, ...limits };
  }

  /** Bytes received but not yet part of a complete value. */
  get pendingBytes(): number {
    return this.buffer.length;
  }

  /** Adds bytes and returns every value now complete, in order. */
  push(chunk: Buffer): RespValue[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const values: RespValue[] = [];
    let offset = 0;
    while (offset < this.buffer.length) {
      const parsed = this.parse(offset, 0);
      if (parsed === INCOMPLETE) break;
      values.push(parsed.value);
      offset = parsed.end;
    }
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
    return values;
  }

  private parse(start: number, depth: number): { value: RespValue; end: number } | typeof INCOMPLETE {
    const line = this.line(start);
    if (line === INCOMPLETE) return INCOMPLETE;
    const type = this.buffer[start];
    const text = this.buffer.toString("utf8", start + 1, line);
    const next = line + 2;
    switch (type) {
      case 0x2b: // '+'
        return { value: { type: "simple", value: text }, end: next };
      case 0x2d: // '-'
        return { value: { type: "error", message: text }, end: next };
      case 0x3a: // ':'
        return { value: { type: "integer", value: integer(text, "integer") }, end: next };
      case 0x24: {
        // '$'
        const length = integer(text, "bulk length");
        if (length === -1) return { value: { type: "bulk", value: null }, end: next };
        if (length < 0 || length > this.limits.maxBulkBytes) {
          throw protocol(`bulk length ${length} is outside 0..${this.limits.maxBulkBytes}`);
        }
        if (this.buffer.length < next + length + 2) return INCOMPLETE;
        if (this.buffer[next + length] !== CR || this.buffer[next + length + 1] !== LF) {
          throw protocol("bulk string not followed by CRLF");
        }
        // A copy: the value must not pin the whole receive buffer.
        return { value: { type: "bulk", value: Buffer.from(this.buffer.subarray(next, next + length)) }, end: next + length + 2 };
      }
      case 0x2a: {
        // '*'
        const length = integer(text, "array length");
        if (length === -1) return { value: { type: "array", value: null }, end: next };
        if (length < 0 || length > this.limits.maxArrayLength) {
          throw protocol(`array length ${length} is outside 0..${this.limits.maxArrayLength}`);
        }
        if (depth >= this.limits.maxDepth) throw protocol(`arrays nested deeper than ${this.limits.maxDepth}`);
        const items: RespValue[] = [];
        let end = next;
        for (let index = 0; index < length; index += 1) {
          const item = this.parse(end, depth + 1);
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item.value);
          end = item.end;
        }
        return { value: { type: "array", value: items }, end };
      }
      default:
        throw protocol(`unexpected type byte 0x${(type ?? 0).toString(16).padStart(2, "0")}`);
    }
  }

  /** Index of the CR of the line starting at `start`, or INCOMPLETE. */
  private line(start: number): number | typeof INCOMPLETE {
    const limit = Math.min(this.buffer.length, start + this.limits.maxLineBytes + 2);
    const cr = this.buffer.indexOf(CR, start);
    if (cr === -1 || cr + 1 >= this.buffer.length) {
      if (this.buffer.length - start > this.limits.maxLineBytes + 1) throw protocol(`line longer than ${this.limits.maxLineBytes} bytes`);
      return INCOMPLETE;
    }
    if (cr >= limit) throw protocol(`line longer than ${this.limits.maxLineBytes} bytes`);
    if (this.buffer[cr + 1] !== LF) throw protocol("CR not followed by LF");
    return cr;
  }
}

function integer(text: string, what: string): number {
  if (!/^-?\d{1,16}$/.test(text)) throw protocol(`${what} is not an integer: ${JSON.stringify(text.slice(0, 40))}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw protocol(`${what} ${text} is not a safe integer`);
  return value;
}

function protocol(message: string): BridgeError {
  return new BridgeError("BRIDGE_PROTOCOL_ERROR", `RESP: ${message}`);
}

/** A short text form of a value, for logs and error messages (bulk strings truncated). */
export function describeValue(value: RespValue): string {
  switch (value.type) {
    case "simple":
      return `+${value.value}`;
    case "error":
      return `-${value.message}`;
    case "integer":
      return `:${value.value}`;
    case "bulk":
      if (value.value === null) return "(nil)";
      return JSON.stringify(value.value.toString("utf8", 0, Math.min(60, value.value.length)) + (value.value.length > 60 ? "…" : ""));
    case "array":
      return value.value === null ? "(nil array)" : `[${value.value.map(describeValue).join(", ")}]`;
  }
}
