/** Every error code of packages/wire (documented in packages/wire/README.md). */
export const WIRE_ERROR_CODES = [
  "WIRE_BAD_MARKER",
  "WIRE_TRUNCATED",
  "WIRE_TRAILING_BYTES",
  "WIRE_UNKNOWN_FINGERPRINT",
  "WIRE_MALFORMED_BODY",
  "WIRE_INVALID_SCHEMA",
  "WIRE_INVALID_FIELD",
  "WIRE_NEGATIVE_TOKENS",
  "WIRE_UNSAFE_INTEGER",
  "WIRE_TIMESTAMP_OUT_OF_RANGE",
  "WIRE_STRING_TOO_LONG",
  "WIRE_INVALID_JSON",
  "WIRE_INVALID_PAYLOAD",
  "WIRE_INVALID_TIMESTAMP",
  "WIRE_INVALID_CHUNK",
  "WIRE_INVALID_MANIFEST",
] as const;

/** One of {@link WIRE_ERROR_CODES}. */
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/**
 * The only error packages/wire throws for bad input. Never retryable: the same bytes or record fail
 * the same way again (the aggregator routes it to the dead-letter topic, the publisher rejects the call).
 */
export class WireError extends Error {
  override readonly name = "WireError";
  readonly code: WireErrorCode;
  readonly retryable = false as const;

  constructor(code: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for a {@link WireError}, optionally of one code. */
export function isWireError(error: unknown, code?: WireErrorCode): error is WireError {
  return error instanceof WireError && (code === undefined || error.code === code);
}
