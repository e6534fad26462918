/** Every error code of packages/snapshots (documented in packages/snapshots/README.md, "Errors"). */
export const SNAPSHOT_ERROR_CODES = [
  "SNAPSHOT_INVALID_OPTIONS",
  "SNAPSHOT_INVALID_KEY",
  "SNAPSHOT_TOPIC_MISSING",
  "SNAPSHOT_TOPIC_MISCONFIGURED",
  "SNAPSHOT_OVERSIZE",
  "SNAPSHOT_INVALID_MANIFEST",
  "SNAPSHOT_INVALID_CHUNK",
  "SNAPSHOT_CHUNK_MISSING",
  "SNAPSHOT_CHECKSUM_MISMATCH",
  "SNAPSHOT_SCHEMA_MISMATCH",
  "SNAPSHOT_STATE_MISMATCH",
  "SNAPSHOT_NOT_CLAIMED",
  "SNAPSHOT_CLAIM_ABANDONED",
  "SNAPSHOT_NOT_APPEND_ONLY",
  "SNAPSHOT_WRITE_FAILED",
  "SNAPSHOT_READ_FAILED",
  "SNAPSHOT_READ_STALLED",
  "SNAPSHOT_CLOSED",
] as const;

/** One of {@link SNAPSHOT_ERROR_CODES}. */
export type SnapshotErrorCode = (typeof SNAPSHOT_ERROR_CODES)[number];

/** Codes of failures that may succeed when the same call is made again (Kafka unavailable, a slow read). */
const RETRYABLE: ReadonlySet<SnapshotErrorCode> = new Set<SnapshotErrorCode>([
  "SNAPSHOT_WRITE_FAILED",
  "SNAPSHOT_READ_FAILED",
  "SNAPSHOT_READ_STALLED",
]);

/** Whether a code is retryable (the same call may succeed later). */
export function isRetryableSnapshotCode(code: SnapshotErrorCode): boolean {
  return RETRYABLE.has(code);
}

/** The one error class of packages/snapshots: a closed code, whether retrying can help, and a cause. */
export class SnapshotError extends Error {
  override readonly name = "SnapshotError";
  readonly code: SnapshotErrorCode;
  readonly retryable: boolean;

  constructor(code: SnapshotErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = RETRYABLE.has(code);
  }
}

/** True for a {@link SnapshotError}, optionally of one code. */
export function isSnapshotError(error: unknown, code?: SnapshotErrorCode): error is SnapshotError {
  return error instanceof SnapshotError && (code === undefined || error.code === code);
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
