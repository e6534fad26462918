/** Every error code of services/loadgen (documented in services/loadgen/README.md). */
export const LOADGEN_ERROR_CODES = ["LOADGEN_INVALID_OPTIONS", "LOADGEN_CLOSE_FAILED"] as const;

/** One of {@link LOADGEN_ERROR_CODES}. */
export type LoadgenErrorCode = (typeof LOADGEN_ERROR_CODES)[number];

/** The error services/loadgen throws; never retryable (bad options stay bad). */
export class LoadgenError extends Error {
  override readonly name = "LoadgenError";
  readonly code: LoadgenErrorCode;
  readonly retryable = false as const;

  constructor(code: LoadgenErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
