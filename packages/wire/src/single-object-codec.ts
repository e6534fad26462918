import avsc from "avsc";
import type { Type } from "avsc";
import { parsingCanonicalForm } from "./canonical-form";
import { WireError } from "./errors";
import { crc64Avro, fingerprintToHex, singleObjectHeader } from "./fingerprint";
import { createStructureCheck, type StructureCheck } from "./structure-check";

/** One schema version known to a registry. */
export interface SchemaVersion {
  /** CRC-64-AVRO fingerprint of the Parsing Canonical Form (unsigned). */
  readonly fingerprint: bigint;
  /** The fingerprint as 16 lowercase hex digits. */
  readonly fingerprintHex: string;
  /** The schema's Parsing Canonical Form. */
  readonly canonicalForm: string;
}

/**
 * The writer schemas a decoder knows, by fingerprint. Bytes written with any registered version
 * decode into the reader schema by Avro schema resolution, so producers of old and new schema
 * versions can share one topic.
 */
export interface SchemaRegistry {
  /**
   * Registers a writer schema (parsed JSON) of the same record and returns its version; registering
   * a known version again is a no-op. Throws `WIRE_INVALID_SCHEMA` when it is not a valid Avro schema
   * or its data cannot be resolved into the reader schema.
   */
  register(writerSchema: unknown): SchemaVersion;
  /** Whether bytes written with this fingerprint can be decoded. */
  has(fingerprint: bigint): boolean;
  /** Every known writer version, the reader's own first. */
  versions(): readonly SchemaVersion[];
}

/** Options of {@link SingleObjectCodec}. */
export interface SingleObjectCodecOptions {
  /** The schema (parsed JSON) values are encoded with and decoded into. */
  readonly schema: unknown;
  /** Other writer schemas to accept when decoding (see {@link SchemaRegistry.register}). */
  readonly writerSchemas?: readonly unknown[];
}

interface WriterEntry {
  readonly low: number;
  readonly high: number;
  readonly version: SchemaVersion;
  /** avsc resolver from this writer into the reader; undefined for the reader's own schema. */
  readonly resolver: ReturnType<Type["createResolver"]> | undefined;
  /** Bounds check run before avsc reads the body; undefined when avsc's reads are bounded already. */
  readonly check: StructureCheck | undefined;
}

const HEADER_BYTES = 10;
const INITIAL_SCRATCH_BYTES = 64 * 1024;

/**
 * Avro single-object encoding (Avro specification, "Single-object encoding") of one record schema:
 * `C3 01`, the schema's 8-byte little-endian CRC-64-AVRO fingerprint, the Avro binary body.
 * Decoding looks the writer schema up by fingerprint and resolves it into the codec's schema.
 * Values are avsc values of the schema (records with the schema's field names).
 */
export class SingleObjectCodec implements SchemaRegistry {
  /** The codec's own schema version (the writer of {@link encode}, the reader of {@link decode}). */
  readonly schema: SchemaVersion;
  /** avsc type of the schema (compiled readers and writers). */
  readonly type: Type;
  private readonly own: WriterEntry;
  private readonly byLowWord = new Map<number, WriterEntry[]>();
  private readonly entries: WriterEntry[] = [];
  private scratch: Buffer;

  constructor(options: SingleObjectCodecOptions) {
    const { type, version } = parseSchema(options.schema);
    this.type = type;
    this.schema = version;
    this.own = this.add(version, undefined, createStructureCheck(type));
    this.scratch = Buffer.allocUnsafe(INITIAL_SCRATCH_BYTES);
    singleObjectHeader(version.fingerprint).copy(this.scratch, 0);
    for (const writer of options.writerSchemas ?? []) {
      this.register(writer);
    }
  }

  register(writerSchema: unknown): SchemaVersion {
    const { type, version } = parseSchema(writerSchema);
    const known = this.find(version.fingerprint);
    if (known !== undefined) {
      return known.version;
    }
    let resolver: WriterEntry["resolver"];
    try {
      resolver = this.type.createResolver(type);
    } catch (error) {
      throw new WireError(
        "WIRE_INVALID_SCHEMA",
        `writer schema ${version.fingerprintHex} does not resolve into the reader schema: ${message(error)}`,
        {
          cause: error,
        },
      );
    }
    return this.add(version, resolver, createStructureCheck(type)).version;
  }

  has(fingerprint: bigint): boolean {
    return this.find(fingerprint) !== undefined;
  }

  versions(): readonly SchemaVersion[] {
    return this.entries.map((entry) => entry.version);
  }

  /**
   * Encodes a value of the codec's schema. Throws `WIRE_INVALID_FIELD` when avsc rejects it (a value
   * that does not match the schema); callers validate their own rules first.
   */
  encode(value: unknown): Buffer {
    for (;;) {
      let end: number;
      try {
        end = this.type.encode(value, this.scratch, HEADER_BYTES);
      } catch (error) {
        throw new WireError("WIRE_INVALID_FIELD", `value does not match schema ${this.schema.fingerprintHex}: ${message(error)}`, {
          cause: error,
        });
      }
      if (end >= 0) {
        const out = Buffer.allocUnsafe(end);
        this.scratch.copy(out, 0, 0, end);
        return out;
      }
      // avsc returns minus the number of missing bytes.
      const grown = Buffer.allocUnsafe(2 * (this.scratch.length - end));
      this.scratch.copy(grown, 0, 0, HEADER_BYTES);
      this.scratch = grown;
    }
  }

  /**
   * Decodes one single-object encoded value into the codec's schema. Throws a {@link WireError}:
   * `WIRE_BAD_MARKER`, `WIRE_TRUNCATED`, `WIRE_UNKNOWN_FINGERPRINT`, `WIRE_MALFORMED_BODY`,
   * `WIRE_UNSAFE_INTEGER` (a long beyond ±(2^53 − 2), avsc's read bound) or `WIRE_TRAILING_BYTES`.
   */
  decode(bytes: Uint8Array): unknown {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buf.length < 2 || buf[0] !== 0xc3 || buf[1] !== 0x01) {
      const prefixOfMarker = buf.length === 0 || (buf.length === 1 && buf[0] === 0xc3);
      throw prefixOfMarker
        ? new WireError("WIRE_TRUNCATED", `${String(buf.length)} bytes: shorter than the single-object header`)
        : new WireError(
            "WIRE_BAD_MARKER",
            `not an Avro single-object encoding: starts with ${buf.subarray(0, 2).toString("hex")}, not c301`,
          );
    }
    if (buf.length < HEADER_BYTES) {
      throw new WireError("WIRE_TRUNCATED", `${String(buf.length)} bytes: shorter than the single-object header`);
    }
    const low = buf.readUInt32LE(2);
    const high = buf.readUInt32LE(6);
    const own = this.own;
    const entry = own.low === low && own.high === high ? own : this.findWords(low, high);
    if (entry === undefined) {
      throw new WireError("WIRE_UNKNOWN_FINGERPRINT", `unknown writer schema fingerprint ${fingerprintToHex(buf.readBigUInt64LE(2))}`);
    }
    if (entry.check !== undefined && entry.check(buf, HEADER_BYTES) > buf.length) {
      throw truncated(buf.length);
    }
    let decoded: { value: unknown; offset: number };
    try {
      decoded = this.type.decode(buf, HEADER_BYTES, entry.resolver);
    } catch (error) {
      if (error instanceof WireError) {
        throw error;
      }
      const text = message(error);
      throw text === "potential precision loss"
        ? new WireError("WIRE_UNSAFE_INTEGER", "a long in the body is beyond the integers a JS number holds exactly", { cause: error })
        : new WireError("WIRE_MALFORMED_BODY", `undecodable body: ${text}`, { cause: error });
    }
    if (decoded.offset < 0) {
      throw truncated(buf.length);
    }
    if (decoded.offset !== buf.length) {
      throw new WireError("WIRE_TRAILING_BYTES", `${String(buf.length - decoded.offset)} bytes after the end of the body`);
    }
    return decoded.value;
  }

  private add(version: SchemaVersion, resolver: WriterEntry["resolver"], check: StructureCheck | undefined): WriterEntry {
    const words = fingerprintWords(version.fingerprint);
    const entry: WriterEntry = { ...words, version, resolver, check };
    const bucket = this.byLowWord.get(words.low);
    if (bucket === undefined) {
      this.byLowWord.set(words.low, [entry]);
    } else {
      bucket.push(entry);
    }
    this.entries.push(entry);
    return entry;
  }

  private find(fingerprint: bigint): WriterEntry | undefined {
    const { low, high } = fingerprintWords(fingerprint);
    return this.findWords(low, high);
  }

  private findWords(low: number, high: number): WriterEntry | undefined {
    const bucket = this.byLowWord.get(low);
    return bucket?.find((entry) => entry.high === high);
  }
}

function parseSchema(schema: unknown): { type: Type; version: SchemaVersion } {
  const canonicalForm = parsingCanonicalForm(schema);
  let type: Type;
  try {
    type = avsc.Type.forSchema(schema as Parameters<typeof avsc.Type.forSchema>[0]);
  } catch (error) {
    throw new WireError("WIRE_INVALID_SCHEMA", `avsc rejects the schema: ${message(error)}`, { cause: error });
  }
  const fingerprint = crc64Avro(Buffer.from(canonicalForm, "utf8"));
  return { type, version: { fingerprint, fingerprintHex: fingerprintToHex(fingerprint), canonicalForm } };
}

/** The two little-endian 32-bit words of a fingerprint as the header stores them. */
function fingerprintWords(fingerprint: bigint): { low: number; high: number } {
  return { low: Number(fingerprint & 0xffffffffn), high: Number(fingerprint >> 32n) };
}

function truncated(length: number): WireError {
  return new WireError("WIRE_TRUNCATED", `body ends early (${String(length)} bytes in all)`);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
