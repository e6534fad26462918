import { parseRfc3339 } from "@usage-ledger/statistics";
import type { SnapshotOptions } from "@usage-ledger/statistics";
import { ApiError } from "./errors";

/**
 * The query parameters of GET /v0/management/usage and /export beyond the seed:
 * - `details=<bool>`: false leaves every model's details out (`details: []`); booleans are read as
 *   Go's strconv.ParseBool reads them (1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False);
 * - `details_since=<RFC 3339>`: only details at or after that instant.
 * The totals and the day/hour buckets always cover everything. A bad or repeated value is a 400.
 */
export function snapshotOptionsFromQuery(query: unknown): SnapshotOptions {
  const params = (typeof query === "object" && query !== null ? query : {}) as Record<string, unknown>;
  const options: { details?: boolean; detailsSince?: SnapshotOptions["detailsSince"] } = {};
  const details = params.details;
  if (details !== undefined) {
    const parsed = typeof details === "string" ? goParseBool(details) : undefined;
    if (parsed === undefined) throw new ApiError("API_INVALID_QUERY", "invalid details");
    options.details = parsed;
  }
  const since = params.details_since;
  if (since !== undefined) {
    if (typeof since !== "string") throw new ApiError("API_INVALID_QUERY", "invalid details_since");
    try {
      options.detailsSince = parseRfc3339(since);
    } catch (error) {
      throw new ApiError("API_INVALID_QUERY", "invalid details_since", { cause: error });
    }
  }
  return options;
}

const TRUE_TEXT = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_TEXT = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** Go's strconv.ParseBool; undefined for anything else. */
export function goParseBool(text: string): boolean | undefined {
  if (TRUE_TEXT.has(text)) return true;
  if (FALSE_TEXT.has(text)) return false;
  return undefined;
}
