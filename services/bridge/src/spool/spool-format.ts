import * as zlib from "node:zlib";
import type { Timestamp } from "@usage-ledger/statistics";

/**
 * The byte format of the bridge's spool (see spool.ts). A segment file is an 8-byte header
 * followed by entries; every entry carries a magic number, its length and a CRC-32 of its body,
 * so a torn or damaged entry is recognised, and the reader can find the next intact one after it.
 *
 * ```
 * segment : "ULSPOOL1" entry*
 * entry   : u32 magic 0x554c5331 | u32 body length | u32 crc32(body) | body        (little endian)
 * body    : u8 1 (data) | f64 seq | u32 count | message{count}
 *         | u8 2 (ack)  | f64 below                    every data entry with a lower seq is acknowledged
 * message : f64 epochSeconds | u32 nanos | i32 offsetSeconds | u32 length | bytes
 * ```
 *
 * The time of a message is when the bridge received it: it stamps a record that carries no
 * timestamp, so a record published again after a restart keeps its dedup key.
 */

/** The first bytes of every segment file. */
export const SEGMENT_HEADER = Buffer.from("ULSPOOL1", "latin1");

const ENTRY_MAGIC = 0x554c5331;
const ENTRY_HEADER_BYTES = 12;
const DATA = 1;
const ACK = 2;
const MESSAGE_HEADER_BYTES = 8 + 4 + 4 + 4;

/** Largest entry body the reader accepts (a bigger length field is damage, not data). */
const MAX_ENTRY_BODY_BYTES = 512 * 1024 * 1024;

/** One message as the node sent it, with the time the bridge received it. */
export interface SpooledMessage {
  readonly raw: Buffer;
  readonly receivedAt: Timestamp;
}

/** One entry of a segment. */
export type SpoolEntry =
  | { readonly kind: "data"; readonly seq: number; readonly messages: readonly SpooledMessage[] }
  | { readonly kind: "ack"; readonly below: number };

/** An entry read back, with where it lies in its segment. */
interface ReadEntry {
  readonly entry: SpoolEntry;
  readonly offset: number;
  readonly length: number;
}

/** Bytes of a segment that are not an intact entry (a torn write, or damage). */
interface DamagedRange {
  readonly offset: number;
  readonly length: number;
  readonly reason: string;
}

/** What {@link readSegment} found. */
export interface SegmentContents {
  readonly entries: readonly ReadEntry[];
  readonly damaged: readonly DamagedRange[];
}

/** Encodes one entry (header, CRC and body). */
export function encodeEntry(entry: SpoolEntry): Buffer {
  let bodyLength = 1 + 8;
  if (entry.kind === "data") {
    bodyLength += 4;
    for (const message of entry.messages) bodyLength += MESSAGE_HEADER_BYTES + message.raw.length;
  }
  const bytes = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + bodyLength);
  let at = ENTRY_HEADER_BYTES;
  at = bytes.writeUInt8(entry.kind === "data" ? DATA : ACK, at);
  at = bytes.writeDoubleLE(entry.kind === "data" ? entry.seq : entry.below, at);
  if (entry.kind === "data") {
    at = bytes.writeUInt32LE(entry.messages.length, at);
    for (const message of entry.messages) {
      at = bytes.writeDoubleLE(message.receivedAt.epochSeconds, at);
      at = bytes.writeUInt32LE(message.receivedAt.nanos, at);
      at = bytes.writeInt32LE(message.receivedAt.offsetSeconds, at);
      at = bytes.writeUInt32LE(message.raw.length, at);
      at += message.raw.copy(bytes, at);
    }
  }
  bytes.writeUInt32LE(ENTRY_MAGIC, 0);
  bytes.writeUInt32LE(bodyLength, 4);
  bytes.writeUInt32LE(crc32(bytes.subarray(ENTRY_HEADER_BYTES)), 8);
  return bytes;
}

/** Decodes the entry at `offset`, or says why the bytes there are not one. */
function decodeEntryAt(segment: Buffer, offset: number): { entry: SpoolEntry; length: number } | { problem: string } {
  if (segment.length - offset < ENTRY_HEADER_BYTES) return { problem: `${segment.length - offset} bytes, shorter than an entry header` };
  if (segment.readUInt32LE(offset) !== ENTRY_MAGIC) return { problem: "no entry starts here" };
  const bodyLength = segment.readUInt32LE(offset + 4);
  if (bodyLength < 9 || bodyLength > MAX_ENTRY_BODY_BYTES) return { problem: `impossible entry length ${bodyLength}` };
  const end = offset + ENTRY_HEADER_BYTES + bodyLength;
  if (end > segment.length)
    return { problem: `entry of ${bodyLength} bytes cut off after ${segment.length - offset - ENTRY_HEADER_BYTES}` };
  const body = segment.subarray(offset + ENTRY_HEADER_BYTES, end);
  if (crc32(body) !== segment.readUInt32LE(offset + 8)) return { problem: "checksum mismatch" };
  const entry = decodeBody(body);
  if (entry === undefined) return { problem: "checksum matches but the body does not decode" };
  return { entry, length: ENTRY_HEADER_BYTES + bodyLength };
}

function decodeBody(body: Buffer): SpoolEntry | undefined {
  const kind = body.readUInt8(0);
  const seq = body.readDoubleLE(1);
  if (!Number.isSafeInteger(seq) || seq < 0) return undefined;
  if (kind === ACK) return body.length === 9 ? { kind: "ack", below: seq } : undefined;
  if (kind !== DATA || body.length < 13) return undefined;
  const count = body.readUInt32LE(9);
  const messages: SpooledMessage[] = [];
  let at = 13;
  for (let index = 0; index < count; index += 1) {
    if (body.length - at < MESSAGE_HEADER_BYTES) return undefined;
    const epochSeconds = body.readDoubleLE(at);
    const nanos = body.readUInt32LE(at + 8);
    const offsetSeconds = body.readInt32LE(at + 12);
    const length = body.readUInt32LE(at + 16);
    at += MESSAGE_HEADER_BYTES;
    if (body.length - at < length) return undefined;
    // A copy: the segment buffer is not kept.
    messages.push({ raw: Buffer.from(body.subarray(at, at + length)), receivedAt: { epochSeconds, nanos, offsetSeconds } });
    at += length;
  }
  return at === body.length ? { kind: "data", seq, messages } : undefined;
}

/**
 * Reads the entries of one segment's bytes (header included). A stretch that is not an intact
 * entry is reported as damaged, and reading goes on at the next intact entry after it (or the
 * stretch runs to the end: a torn tail).
 */
export function readSegment(segment: Buffer): SegmentContents {
  const entries: ReadEntry[] = [];
  const damaged: DamagedRange[] = [];
  if (segment.length < SEGMENT_HEADER.length || !segment.subarray(0, SEGMENT_HEADER.length).equals(SEGMENT_HEADER)) {
    if (segment.length > 0) damaged.push({ offset: 0, length: segment.length, reason: "not a spool segment (header missing)" });
    return { entries, damaged };
  }
  let offset = SEGMENT_HEADER.length;
  while (offset < segment.length) {
    const decoded = decodeEntryAt(segment, offset);
    if ("entry" in decoded) {
      entries.push({ entry: decoded.entry, offset, length: decoded.length });
      offset += decoded.length;
      continue;
    }
    const next = nextIntactEntry(segment, offset + 1);
    damaged.push({ offset, length: next - offset, reason: decoded.problem });
    offset = next;
  }
  return { entries, damaged };
}

function nextIntactEntry(segment: Buffer, from: number): number {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(ENTRY_MAGIC, 0);
  for (let at = segment.indexOf(magic, from); at !== -1; at = segment.indexOf(magic, at + 1)) {
    if ("entry" in decodeEntryAt(segment, at)) return at;
  }
  return segment.length;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib and gzip): node:zlib's where the runtime has it (Node 20.15+), else {@link tableCrc32}. */
export const crc32: (bytes: Uint8Array) => number =
  // A namespace import: a named import of crc32 would fail to load on Node 20 before 20.15.
  typeof (zlib as Partial<typeof zlib>).crc32 === "function" ? (bytes) => zlib.crc32(bytes) : tableCrc32;

/** CRC-32 computed in JavaScript, for runtimes without `zlib.crc32`. */
export function tableCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
