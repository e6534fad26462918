/**
 * Every error code of the HTTP API (documented in services/aggregator/README.md, "HTTP error codes").
 * The response body of each is `{"error": <message>}`; for the codes CLIProxyAPI has, the message is
 * CLIProxyAPI's text, word for word.
 */
export const API_ERROR_CODES = [
  "API_BODY_UNREADABLE",
  "API_INVALID_JSON",
  "API_UNSUPPORTED_VERSION",
  "API_INVALID_QUERY",
  "API_INVALID_PRICES",
  "API_MISSING_KEY",
  "API_INVALID_KEY",
  "API_IP_BANNED",
  "API_REMOTE_DISABLED",
  "API_KEY_NOT_SET",
  "API_NOT_FOUND",
  "API_IMPORT_UNAVAILABLE",
  "API_PRICES_UNAVAILABLE",
  "API_INTERNAL",
] as const;

/** One of {@link API_ERROR_CODES}. */
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** The HTTP status of each code. */
const API_ERROR_STATUS: Readonly<Record<ApiErrorCode, number>> = {
  API_BODY_UNREADABLE: 400,
  API_INVALID_JSON: 400,
  API_UNSUPPORTED_VERSION: 400,
  API_INVALID_QUERY: 400,
  API_INVALID_PRICES: 400,
  API_MISSING_KEY: 401,
  API_INVALID_KEY: 401,
  API_IP_BANNED: 403,
  API_REMOTE_DISABLED: 403,
  API_KEY_NOT_SET: 403,
  API_NOT_FOUND: 404,
  API_IMPORT_UNAVAILABLE: 503,
  API_PRICES_UNAVAILABLE: 503,
  API_INTERNAL: 500,
};

/** Fixed client-facing messages (CLIProxyAPI's wording where it has one). */
export const API_ERROR_MESSAGES = {
  API_BODY_UNREADABLE: "failed to read request body",
  API_INVALID_JSON: "invalid json",
  API_UNSUPPORTED_VERSION: "unsupported version",
  API_MISSING_KEY: "missing management key",
  API_INVALID_KEY: "invalid management key",
  API_REMOTE_DISABLED: "remote management disabled",
  API_KEY_NOT_SET: "remote management key not set",
  API_NOT_FOUND: "not found",
  API_INTERNAL: "internal error",
} as const satisfies Partial<Record<ApiErrorCode, string>>;

/**
 * An error the HTTP API answers with: `status` and the body `{"error": message}`. `retryable` says
 * whether the same request may succeed later (API_IMPORT_UNAVAILABLE, API_PRICES_UNAVAILABLE: the broker was not reachable).
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly retryable: boolean;

  constructor(code: ApiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = API_ERROR_STATUS[code];
    this.retryable = code === "API_IMPORT_UNAVAILABLE" || code === "API_PRICES_UNAVAILABLE";
  }
}

/** An {@link ApiError} with its fixed message. */
export function apiError(code: keyof typeof API_ERROR_MESSAGES, options?: { cause?: unknown }): ApiError {
  return new ApiError(code, API_ERROR_MESSAGES[code], options);
}

/** The response body of an error, as Go's encoding/json writes `gin.H{"error": message}`. */
export function errorBody(error: ApiError): string {
  return goJsonString({ error: error.message });
}

/**
 * `JSON.stringify` with Go encoding/json's string escaping (`<`, `>`, `&`, U+2028, U+2029 as `\u00XX`):
 * for the small bodies this API builds itself (errors, import results). Object keys must already be in
 * the order Go would write them (sorted for a map).
 */
export function goJsonString(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
