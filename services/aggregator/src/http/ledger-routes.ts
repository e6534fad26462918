import type { FastifyInstance, FastifyReply } from "fastify";
import { overviewView, recentView, seriesView, tablesView } from "../insights/insight-queries";
import type { RecentRow } from "../insights/insight-queries";
import { isRangeName } from "../insights/time-range";
import type { RangeName } from "../insights/time-range";
import type { WebDashboard } from "../insights/web-dashboard";
import type { PricesState } from "../prices/price-book";
import { parsePriceTable, parsePriceUpdate, priceTableToJson, PriceTableProblem } from "../prices/price-table";
import { ApiError, apiError, goJsonString } from "./errors";

/**
 * The dashboard's read-only API, version 1, under `/v0/management/ledger/v1` (behind the management
 * key; shapes in services/aggregator/README.md, "Ledger API v1"): views computed in the aggregator
 * from its incremental aggregates, each response bounded in size whatever the ledger holds. Plus the
 * fleet's price table, which `PUT`/`POST`/`DELETE` edit durably.
 */

const JSON_TYPE = "application/json; charset=utf-8";

type Query = Record<string, unknown>;

function queryOf(query: unknown): Query {
  return typeof query === "object" && query !== null ? (query as Query) : {};
}

/** A single string parameter (a repeated one is an error), or undefined when absent. */
function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new ApiError("API_INVALID_QUERY", `invalid ${name}`);
  return value;
}

function rangeOf(query: Query): RangeName {
  const value = single(query, "range") ?? "24h";
  if (!isRangeName(value)) throw new ApiError("API_INVALID_QUERY", "invalid range");
  return value;
}

function integerOf(query: Query, name: string, fallback: number, min: number, max: number): number {
  const text = single(query, name);
  if (text === undefined) return fallback;
  if (!/^[+-]?\d{1,9}$/.test(text)) throw new ApiError("API_INVALID_QUERY", `invalid ${name}`);
  const value = Number(text);
  if (value < min || value > max) throw new ApiError("API_INVALID_QUERY", `invalid ${name}`);
  return value;
}

/** A non-empty filter value, or undefined. */
function filterOf(query: Query, name: string): string | undefined {
  const value = single(query, name);
  return value === undefined || value === "" ? undefined : value;
}

function send(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type(JSON_TYPE).header("Cache-Control", "no-store").send(goJsonString(body));
}

function pricesBody(state: PricesState) {
  return { origin: state.origin, updated_at: state.updatedAt, ...priceTableToJson(state.table) };
}

/** The JSON of a request body (read raw by the management scope). */
function jsonBody(body: unknown): unknown {
  const text = Buffer.isBuffer(body) ? body.toString("utf8") : "";
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw apiError("API_INVALID_JSON", { cause: error });
  }
}

function invalidPrices(error: unknown): never {
  if (error instanceof PriceTableProblem) throw new ApiError("API_INVALID_PRICES", `invalid prices: ${error.message}`, { cause: error });
  throw error;
}

/** Runs a price edit; Kafka failing to take it is a retryable 503. */
async function edit(action: () => Promise<PricesState>): Promise<PricesState> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof PriceTableProblem) invalidPrices(error);
    throw new ApiError("API_PRICES_UNAVAILABLE", "prices not saved: the ledger could not write them to Kafka; retrying is safe", {
      cause: error,
    });
  }
}

const CSV_COLUMNS = [
  "timestamp",
  "api",
  "model",
  "source",
  "auth_index",
  "failed",
  "latency_ms",
  "input_tokens",
  "output_tokens",
  "reasoning_tokens",
  "cached_tokens",
  "total_tokens",
  "cost_usd",
];

/** One CSV field: quoted when needed; text that a spreadsheet would run as a formula is prefixed with `'`. */
function csvField(value: string | number | boolean | null): string {
  if (value === null) return "";
  if (typeof value !== "string") return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The recent requests as CSV (RFC 4180, CRLF line ends, a header row). */
export function recentCsv(rows: readonly RecentRow[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const row of rows) {
    lines.push(
      [
        row.timestamp,
        row.api,
        row.model,
        row.source,
        row.auth_index,
        row.failed,
        row.latency_ms,
        row.tokens.input,
        row.tokens.output,
        row.tokens.reasoning,
        row.tokens.cached,
        row.tokens.total,
        row.cost_usd,
      ]
        .map(csvField)
        .join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** Registers the ledger API v1 on the management scope. */
export function registerLedgerRoutes(scope: FastifyInstance, dashboard: WebDashboard): void {
  const prefix = "/ledger/v1";

  scope.get(`${prefix}/overview`, async (request, reply) => {
    const range = rangeOf(queryOf(request.query));
    const insights = dashboard.feed.insights();
    const view = overviewView(insights, dashboard.prices.current().table, range);
    return send(reply, { ...view, feed: { details: dashboard.feed.ingested(), pending: dashboard.feed.pending() } });
  });

  scope.get(`${prefix}/series`, async (request, reply) => {
    const query = queryOf(request.query);
    const range = rangeOf(query);
    const granularity = single(query, "granularity") ?? (range === "7d" || range === "all" ? "day" : "hour");
    if (granularity !== "hour" && granularity !== "day") throw new ApiError("API_INVALID_QUERY", "invalid granularity");
    const utcOffsetMinutes = integerOf(query, "utc_offset_minutes", 0, -24 * 60 + 1, 24 * 60 - 1);
    const modelsText = single(query, "models");
    const models = modelsText === undefined || modelsText === "" ? undefined : modelsText.split(",");
    const view = seriesView(dashboard.feed.insights(), dashboard.prices.current().table, { range, granularity, utcOffsetMinutes, models });
    return send(reply, view);
  });

  scope.get(`${prefix}/tables`, async (request, reply) => {
    const range = rangeOf(queryOf(request.query));
    return send(reply, tablesView(dashboard.feed.insights(), dashboard.prices.current().table, range));
  });

  scope.get(`${prefix}/requests`, async (request, reply) => {
    const query = queryOf(request.query);
    const insights = dashboard.feed.insights();
    const status = filterOf(query, "status");
    if (status !== undefined && status !== "success" && status !== "failed") throw new ApiError("API_INVALID_QUERY", "invalid status");
    const format = single(query, "format") ?? "json";
    if (format !== "json" && format !== "csv") throw new ApiError("API_INVALID_QUERY", "invalid format");
    const capacity = insights.recent.capacity;
    const view = recentView(insights, dashboard.prices.current().table, {
      range: rangeOf(query),
      api: filterOf(query, "api"),
      model: filterOf(query, "model"),
      source: filterOf(query, "source"),
      status,
      offset: integerOf(query, "offset", 0, 0, capacity),
      limit: integerOf(query, "limit", 50, 1, capacity),
    });
    if (format === "csv") {
      return reply
        .type("text/csv; charset=utf-8")
        .header("Cache-Control", "no-store")
        .header("Content-Disposition", 'attachment; filename="usage-ledger-requests.csv"')
        .send(recentCsv(view.rows));
    }
    return send(reply, view);
  });

  scope.get(`${prefix}/prices`, async (_request, reply) => send(reply, pricesBody(dashboard.prices.current())));

  scope.put(`${prefix}/prices`, async (request, reply) => {
    let table;
    try {
      table = parsePriceTable(jsonBody(request.body));
    } catch (error) {
      invalidPrices(error);
    }
    return send(reply, pricesBody(await edit(() => dashboard.prices.replace(table))));
  });

  scope.post(`${prefix}/prices`, async (request, reply) => {
    let changes;
    try {
      changes = parsePriceUpdate(jsonBody(request.body));
    } catch (error) {
      invalidPrices(error);
    }
    return send(reply, pricesBody(await edit(() => dashboard.prices.update(changes))));
  });

  scope.delete(`${prefix}/prices`, async (_request, reply) => send(reply, pricesBody(await edit(() => dashboard.prices.reset()))));
}
