import type { WireErrorCode } from "@usage-ledger/wire";

/** Every error code of packages/publisher (documented in packages/publisher/README.md). */
export const PUBLISHER_ERROR_CODES = [
  "PUBLISHER_INVALID_OPTIONS",
  "PUBLISHER_INVALID_RECORD",
  "PUBLISHER_BUFFER_FULL",
  "PUBLISHER_CLOSED",
  "PUBLISHER_DELIVERY_TIMEOUT",
  "PUBLISHER_CLOSE_TIMEOUT",
  "PUBLISHER_SEND_FAILED",
  "PUBLISHER_BROKER_UNAVAILABLE",
  "PUBLISHER_ACCESS_DENIED",
] as const;

/** One of {@link PUBLISHER_ERROR_CODES}. */
export type PublisherErrorCode = (typeof PUBLISHER_ERROR_CODES)[number];

/** Whether trying the same thing again later can succeed, per code. */
const RETRYABLE: Readonly<Record<PublisherErrorCode, boolean>> = {
  PUBLISHER_INVALID_OPTIONS: false,
  PUBLISHER_INVALID_RECORD: false,
  PUBLISHER_BUFFER_FULL: true,
  PUBLISHER_CLOSED: false,
  PUBLISHER_DELIVERY_TIMEOUT: true,
  PUBLISHER_CLOSE_TIMEOUT: true,
  PUBLISHER_SEND_FAILED: false,
  PUBLISHER_BROKER_UNAVAILABLE: true,
  PUBLISHER_ACCESS_DENIED: false,
};

/** Options of {@link PublisherError}. */
export interface PublisherErrorOptions {
  /** The error underneath (a `WireError`, a kafkajs error). */
  readonly cause?: unknown;
  /** For `PUBLISHER_INVALID_RECORD`: the code of the `WireError` that refused the record. */
  readonly wireCode?: WireErrorCode;
}

/**
 * The only error packages/publisher reports. `retryable` says whether publishing the same record
 * again later can succeed (a full buffer, a broker that was down) or cannot (an invalid record).
 */
export class PublisherError extends Error {
  override readonly name = "PublisherError";
  readonly code: PublisherErrorCode;
  readonly retryable: boolean;
  /** For `PUBLISHER_INVALID_RECORD`: the `WIRE_*` code of the validation that failed. */
  readonly wireCode: WireErrorCode | undefined;

  constructor(code: PublisherErrorCode, message: string, options: PublisherErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = RETRYABLE[code];
    this.wireCode = options.wireCode;
  }
}

/** True for a {@link PublisherError}, optionally of one code. */
export function isPublisherError(error: unknown, code?: PublisherErrorCode): error is PublisherError {
  return error instanceof PublisherError && (code === undefined || error.code === code);
}
