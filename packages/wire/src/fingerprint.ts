import { parsingCanonicalForm } from "./canonical-form";

/**
 * CRC-64-AVRO (the Rabin fingerprint of the Avro specification, "Schema Fingerprints"):
 * empty value 0xc15d213aa4d7a795, table-driven, bytes fed least significant bit first.
 */

const EMPTY = 0xc15d213aa4d7a795n;
const MASK_64 = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j++) {
    fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK_64);
  }
  return fp;
});

/** The CRC-64-AVRO of some bytes, as an unsigned 64-bit bigint. */
export function crc64Avro(bytes: Uint8Array): bigint {
  let fp = EMPTY;
  for (const byte of bytes) {
    fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] ?? 0n);
  }
  return fp;
}

/** The CRC-64-AVRO fingerprint of a schema (parsed JSON): the CRC of its Parsing Canonical Form in UTF-8. */
export function schemaFingerprint(schema: unknown): bigint {
  return crc64Avro(Buffer.from(parsingCanonicalForm(schema), "utf8"));
}

/** A fingerprint as 16 lowercase hex digits (most significant first), e.g. `"8f014872634503c7"` for `"string"`. */
export function fingerprintToHex(fingerprint: bigint): string {
  return fingerprint.toString(16).padStart(16, "0");
}

/** The inverse of {@link fingerprintToHex}; `undefined` for anything but 16 lowercase hex digits. */
export function fingerprintFromHex(hex: string): bigint | undefined {
  return /^[0-9a-f]{16}$/.test(hex) ? BigInt(`0x${hex}`) : undefined;
}

/** A fingerprint as the 8 little-endian bytes the single-object header carries. */
export function fingerprintToBytes(fingerprint: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(fingerprint);
  return bytes;
}

/** The 2-byte marker that starts every Avro single-object encoding. */
export const SINGLE_OBJECT_MARKER: readonly [number, number] = [0xc3, 0x01];

/** The 10-byte single-object header for a schema fingerprint: `C3 01` + fingerprint (little-endian). */
export function singleObjectHeader(fingerprint: bigint): Buffer {
  return Buffer.concat([Buffer.from(SINGLE_OBJECT_MARKER), fingerprintToBytes(fingerprint)]);
}
