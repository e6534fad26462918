import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { formatRfc3339Nano, isStatisticsError, parseImportBody, toUtc } from "@usage-ledger/statistics";
import type { Clock, ParsedImportBody, RequestStatistics, SnapshotOptions } from "@usage-ledger/statistics";
import type { ManagementBackend } from "./backend";
import { ApiError, apiError, goJsonString } from "./errors";
import { snapshotOptionsFromQuery } from "./query";

/** What the usage routes need. */
export interface UsageRoutesOptions {
  readonly aggregator: ManagementBackend;
  /** "now" for `exported_at`. */
  readonly clock: Clock;
}

const JSON_TYPE = "application/json; charset=utf-8";

// Go's json.Unmarshal rejects a byte-order mark; TextDecoder would silently drop it.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Bodies up to this many UTF-16 units are sent as one string (with a Content-Length); larger ones are streamed. */
const ONE_PIECE = 4 * 1024 * 1024;

/**
 * `prefix` + the statistics snapshot exactly as Go's encoding/json writes it + `suffix`. The
 * snapshot comes in chunks (`snapshotJsonChunks`, the state at the first chunk): a small one is
 * sent as one string; a large one is streamed, drawing one chunk at a time and yielding to the event
 * loop between chunks, so that a snapshot of millions of details neither stops ingest for seconds
 * nor sits in memory whole (and may be larger than V8's largest string).
 */
function snapshotBody(prefix: string, statistics: RequestStatistics, options: SnapshotOptions, suffix: string): string | Readable {
  const chunks = statistics.snapshotJsonChunks(options);
  const head: string[] = [prefix];
  let length = prefix.length + suffix.length;
  for (let next = chunks.next(); !next.done; next = chunks.next()) {
    head.push(next.value);
    length += next.value.length;
    if (length > ONE_PIECE) return Readable.from(streamed(head, chunks, suffix));
  }
  head.push(suffix);
  return head.join("");
}

/** The pieces drawn so far, then the rest of the chunks one at a time (a turn of the event loop each), then `suffix`. */
async function* streamed(
  head: readonly string[],
  chunks: Iterator<string, void, undefined>,
  suffix: string,
): AsyncGenerator<Buffer, void, undefined> {
  for (const piece of head) yield Buffer.from(piece, "utf8");
  for (;;) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const next = chunks.next();
    if (next.done === true) break;
    yield Buffer.from(next.value, "utf8");
  }
  yield Buffer.from(suffix, "utf8");
}

/**
 * Parses an import body exactly as the seed's handler does: JSON syntax errors and any type mismatch
 * are "invalid json", then a version other than 0 or 1 is "unsupported version".
 */
function parseImportRequest(body: unknown): ParsedImportBody {
  const text = Buffer.isBuffer(body) ? utf8.decode(body) : "";
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw apiError("API_INVALID_JSON", { cause: error });
  }
  try {
    return parseImportBody(json);
  } catch (error) {
    if (isStatisticsError(error, "STATS_UNSUPPORTED_VERSION")) throw apiError("API_UNSUPPORTED_VERSION", { cause: error });
    if (isStatisticsError(error)) throw apiError("API_INVALID_JSON", { cause: error });
    throw error;
  }
}

/** Registers GET /usage, GET /usage/export and POST /usage/import on the management scope. */
export function registerUsageRoutes(scope: FastifyInstance, options: UsageRoutesOptions): void {
  const { aggregator, clock } = options;

  scope.get("/usage", async (request, reply) => {
    const snapshotOptions = snapshotOptionsFromQuery(request.query);
    const statistics = aggregator.fleetStatistics();
    // gin.H is a Go map: encoding/json writes its keys sorted, so failed_requests comes first.
    const body = snapshotBody(`{"failed_requests":${statistics.totals().failureCount},"usage":`, statistics, snapshotOptions, "}");
    return reply.type(JSON_TYPE).send(body);
  });

  scope.get("/usage/export", async (request, reply) => {
    const snapshotOptions = snapshotOptionsFromQuery(request.query);
    const statistics = aggregator.fleetStatistics();
    const exportedAt = formatRfc3339Nano(toUtc(clock()));
    // A Go struct: fields in declaration order.
    const body = snapshotBody(`{"version":1,"exported_at":"${exportedAt}","usage":`, statistics, snapshotOptions, "}");
    return reply.type(JSON_TYPE).send(body);
  });

  scope.post("/usage/import", async (request, reply) => {
    const parsed = parseImportRequest(request.body);
    let outcome;
    try {
      outcome = await aggregator.importSnapshot(parsed.snapshot);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (isStatisticsError(error)) throw apiError("API_INVALID_JSON", { cause: error });
      request.log.error({ err: error }, "import could not be published");
      throw new ApiError(
        "API_IMPORT_UNAVAILABLE",
        "import failed: the ledger could not write all of it to Kafka; retrying the same import is safe (duplicates are skipped)",
        {
          cause: error,
        },
      );
    }
    // gin.H again: keys sorted.
    const body = goJsonString({
      added: outcome.added,
      failed_requests: outcome.failedRequests,
      skipped: outcome.skipped,
      total_requests: outcome.totalRequests,
    });
    return reply.type(JSON_TYPE).send(body);
  });
}
