/** Every error code of services/bridge (documented in services/bridge/README.md, "Error codes"). */
export const BRIDGE_ERROR_CODES = [
  "BRIDGE_INVALID_CONFIG",
  "BRIDGE_AUTH_FAILED",
  "BRIDGE_NODE_BANNED",
  "BRIDGE_CONNECT_FAILED",
  "BRIDGE_CONNECTION_CLOSED",
  "BRIDGE_TIMEOUT",
  "BRIDGE_PROTOCOL_ERROR",
  "BRIDGE_COMMAND_ERROR",
  "BRIDGE_HTTP_ERROR",
  "BRIDGE_PUBLISH_FAILED",
  "BRIDGE_DLQ_FAILED",
  "BRIDGE_SPOOL_FAILED",
  "BRIDGE_SPOOL_DAMAGED",
  "BRIDGE_MODE_UNSUPPORTED",
  "BRIDGE_STOPPED",
] as const;

/** One of {@link BRIDGE_ERROR_CODES}. */
export type BridgeErrorCode = (typeof BRIDGE_ERROR_CODES)[number];

/** Whether a code is worth retrying as it is (after a backoff); an auth failure never is. */
const RETRYABLE: Readonly<Record<BridgeErrorCode, boolean>> = {
  BRIDGE_INVALID_CONFIG: false,
  BRIDGE_AUTH_FAILED: false,
  BRIDGE_NODE_BANNED: true,
  BRIDGE_CONNECT_FAILED: true,
  BRIDGE_CONNECTION_CLOSED: true,
  BRIDGE_TIMEOUT: true,
  BRIDGE_PROTOCOL_ERROR: true,
  BRIDGE_COMMAND_ERROR: false,
  BRIDGE_HTTP_ERROR: true,
  BRIDGE_PUBLISH_FAILED: true,
  BRIDGE_DLQ_FAILED: true,
  BRIDGE_SPOOL_FAILED: true,
  BRIDGE_SPOOL_DAMAGED: false,
  BRIDGE_MODE_UNSUPPORTED: false,
  BRIDGE_STOPPED: false,
};

/** The error services/bridge raises: a closed list of codes, each retryable or not. */
export class BridgeError extends Error {
  override readonly name = "BridgeError";
  readonly code: BridgeErrorCode;
  readonly retryable: boolean;

  constructor(code: BridgeErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options?.retryable ?? RETRYABLE[code];
  }
}

/** True for a {@link BridgeError}, optionally of one code. */
export function isBridgeError(error: unknown, code?: BridgeErrorCode): error is BridgeError {
  return error instanceof BridgeError && (code === undefined || error.code === code);
}

/** The message of any thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
