import { formatRfc3339Nano } from "@usage-ledger/statistics";
import { cellCost } from "../prices/price-table";
import type { ModelPrice, PriceTable } from "../prices/price-table";
import type { RecentEntry } from "./recent-requests";
import { HOUR_MS, MINUTE_MS, QUARTER_HOUR_MS, rangeStartHour } from "./time-range";
import type { RangeName } from "./time-range";
import { CELL, CELL_WIDTH, denseCells, emptyCell, fillContribution, newContribution } from "./usage-cells";
import type { CellTable } from "./usage-cells";
import { QUARTERS_KEPT } from "./usage-insights";
import type { UsageInsights } from "./usage-insights";

/**
 * The dashboard's read-only views (the bodies of the `/v0/management/ledger/v1/*` endpoints, see
 * services/aggregator/README.md), computed from the aggregates of {@link UsageInsights}: each sums
 * the cells its range covers (models × hours, keys × hours), never the details.
 */

/** Totals of a set of details. */
export interface TotalsView {
  requests: number;
  success: number;
  failure: number;
  tokens: { total: number; input: number; output: number; cached: number; reasoning: number };
  cost_usd: number;
  latency_ms_avg: number | null;
  latency_samples: number;
}

function totalsOf(cell: Float64Array, cost: number): TotalsView {
  const samples = cell[CELL.latencyCount]!;
  return {
    requests: cell[CELL.requests]!,
    success: cell[CELL.requests]! - cell[CELL.failures]!,
    failure: cell[CELL.failures]!,
    tokens: {
      total: cell[CELL.totalTokens]!,
      input: cell[CELL.inputTokens]!,
      output: cell[CELL.outputTokens]!,
      cached: cell[CELL.cachedTokens]!,
      reasoning: cell[CELL.reasoningTokens]!,
    },
    cost_usd: cost,
    latency_ms_avg: samples > 0 ? cell[CELL.latencySum]! / samples : null,
    latency_samples: samples,
  };
}

function addCell(into: Float64Array, cell: Float64Array): void {
  for (let field = 0; field < CELL_WIDTH; field++) into[field]! += cell[field]!;
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

/** Prices by model id (undefined where a model has none). */
function pricesById(insights: UsageInsights, prices: PriceTable): Array<ModelPrice | undefined> {
  return insights.models.names.map((name) => prices.models.get(name));
}

/** Sums the tables into cells by key (dense: keys are small ids below `keys`). */
function sumTables(tables: Iterable<CellTable>, keys: number): Map<number, Float64Array> {
  const sums = new Float64Array(keys * CELL_WIDTH);
  for (const table of tables) table.addToDense(sums);
  return new Map(denseCells(sums));
}

function* tablesOf(buckets: IterableIterator<[number, CellTable]>): IterableIterator<CellTable> {
  for (const [, table] of buckets) yield table;
}

/** Per-model cells of a range (all time when unbounded). */
function modelCellsOf(insights: UsageInsights, startHour: number | undefined): Map<number, Float64Array> {
  const tables = startHour === undefined ? [insights.modelAll] : tablesOf(insights.modelHours.bucketsFrom(startHour));
  return sumTables(tables, insights.models.names.length);
}

function costOf(cells: Map<number, Float64Array>, keyToModel: (key: number) => number, prices: Array<ModelPrice | undefined>): number {
  let cost = 0;
  for (const [key, cell] of cells) {
    const price = prices[keyToModel(key)];
    if (price !== undefined) cost += cellCost(cell, price);
  }
  return cost;
}

/** The cost of one table's cells keyed by model. */
function tableCost(table: CellTable | undefined, prices: Array<ModelPrice | undefined>): number {
  if (table === undefined) return 0;
  const cells = new Map<number, Float64Array>();
  table.addInto(cells);
  return costOf(cells, (model) => model, prices);
}

/** GET .../overview: the cards, sparklines and the health grid. */
export function overviewView(insights: UsageInsights, prices: PriceTable, range: RangeName) {
  const nowMs = insights.nowMillis();
  insights.prune(nowMs);
  const byId = pricesById(insights, prices);
  const startHour = rangeStartHour(range, nowMs);
  const cells = modelCellsOf(insights, startHour);
  const sum = emptyCell();
  for (const cell of cells.values()) addCell(sum, cell);
  const unpriced = [...cells.entries()]
    .filter(([model, cell]) => cell[CELL.requests]! > 0 && byId[model] === undefined)
    .map(([model]) => insights.models.names[model]!)
    .sort();

  const nowMinute = Math.floor(nowMs / MINUTE_MS);
  const sparkRequests: number[] = [];
  const sparkTokens: number[] = [];
  const sparkCost: number[] = [];
  let rateRequests = 0;
  let rateTokens = 0;
  for (let minute = nowMinute - 59; minute <= nowMinute; minute++) {
    const table = insights.modelMinutes.bucket(minute);
    const cell = emptyCell();
    table?.addAllInto(cell);
    sparkRequests.push(cell[CELL.requests]!);
    sparkTokens.push(cell[CELL.totalTokens]!);
    sparkCost.push(tableCost(table, byId));
    if (minute > nowMinute - 30) {
      rateRequests += cell[CELL.requests]!;
      rateTokens += cell[CELL.totalTokens]!;
    }
  }

  const nowQuarter = Math.floor(nowMs / QUARTER_HOUR_MS);
  const firstQuarter = nowQuarter - QUARTERS_KEPT + 1;
  const success: number[] = [];
  const failure: number[] = [];
  for (let quarter = firstQuarter; quarter <= nowQuarter; quarter++) {
    const block = insights.health.get(quarter);
    success.push(block?.[0] ?? 0);
    failure.push(block?.[1] ?? 0);
  }

  return {
    range,
    from: startHour === undefined ? null : isoOf(startHour * HOUR_MS),
    generated_at: isoOf(nowMs),
    totals: totalsOf(
      sum,
      costOf(cells, (model) => model, byId),
    ),
    models_without_price: unpriced,
    rates: { window_minutes: 30, requests: rateRequests, tokens: rateTokens, rpm: rateRequests / 30, tpm: rateTokens / 30 },
    sparklines: {
      start: isoOf((nowMinute - 59) * MINUTE_MS),
      step_ms: MINUTE_MS,
      requests: sparkRequests,
      tokens: sparkTokens,
      cost_usd: sparkCost,
    },
    health: { start: isoOf(firstQuarter * QUARTER_HOUR_MS), step_ms: QUARTER_HOUR_MS, success, failure },
  };
}

/** Most hourly buckets a series returns (31 days); older ones are left out (`truncated`). */
const MAX_HOUR_BUCKETS = 744;
/** Most daily buckets a series returns (2 years). */
const MAX_DAY_BUCKETS = 731;
/** Models drawn as their own line besides the total (the Usage page drew up to 9 lines). */
const MAX_MODEL_LINES = 8;

/** Options of {@link seriesView}. */
export interface SeriesOptions {
  readonly range: RangeName;
  readonly granularity: "hour" | "day";
  /** Offset of the viewer's time zone, minutes east of UTC: days start at its midnight. */
  readonly utcOffsetMinutes: number;
  /** Models to draw; default the {@link MAX_MODEL_LINES} with the most requests in the range. */
  readonly models: readonly string[] | undefined;
}

/** GET .../series: trends per model, the token breakdown and the cost, per hour or day. */
export function seriesView(insights: UsageInsights, prices: PriceTable, options: SeriesOptions) {
  const nowMs = insights.nowMillis();
  const byId = pricesById(insights, prices);
  const nowHour = Math.floor(nowMs / HOUR_MS);
  const extent = insights.modelHours.extent();
  let firstHour = rangeStartHour(options.range, nowMs) ?? extent?.first ?? nowHour;
  const lastHour = Math.max(nowHour, Math.min(extent?.last ?? nowHour, nowHour + 24));
  const offsetMs = options.utcOffsetMinutes * MINUTE_MS;
  const bucketOf =
    options.granularity === "hour" ? (hour: number) => hour : (hour: number) => Math.floor((hour * HOUR_MS + offsetMs) / (24 * HOUR_MS));
  const startOf =
    options.granularity === "hour" ? (bucket: number) => bucket * HOUR_MS : (bucket: number) => bucket * 24 * HOUR_MS - offsetMs;
  const cap = options.granularity === "hour" ? MAX_HOUR_BUCKETS : MAX_DAY_BUCKETS;
  let truncated = false;
  if (bucketOf(lastHour) - bucketOf(firstHour) + 1 > cap) {
    truncated = true;
    firstHour = Math.ceil(startOf(bucketOf(lastHour) - cap + 1) / HOUR_MS);
  }
  const firstBucket = bucketOf(firstHour);
  const count = bucketOf(lastHour) - firstBucket + 1;

  // Per bucket: the total cell, and the cells per model.
  const totals = Array.from({ length: count }, () => emptyCell());
  const perModel = new Map<number, Float64Array[]>();
  const cost = new Array<number>(count).fill(0);
  for (const [hour, table] of insights.modelHours.bucketsFrom(firstHour)) {
    if (hour > lastHour) continue;
    const index = bucketOf(hour) - firstBucket;
    const cells = new Map<number, Float64Array>();
    table.addInto(cells);
    for (const [model, cell] of cells) {
      addCell(totals[index]!, cell);
      let series = perModel.get(model);
      if (series === undefined) {
        series = Array.from({ length: count }, () => emptyCell());
        perModel.set(model, series);
      }
      addCell(series[index]!, cell);
      const price = byId[model];
      if (price !== undefined) cost[index]! += cellCost(cell, price);
    }
  }

  const requestsOf = (series: Float64Array[]): number => series.reduce((sum, cell) => sum + cell[CELL.requests]!, 0);
  let chosen: number[];
  if (options.models === undefined) {
    chosen = [...perModel.entries()]
      .sort((a, b) => requestsOf(b[1]) - requestsOf(a[1]) || compareNames(insights.models.names[a[0]]!, insights.models.names[b[0]]!))
      .slice(0, MAX_MODEL_LINES)
      .map(([model]) => model);
  } else {
    chosen = options.models.slice(0, MAX_MODEL_LINES).flatMap((name) => {
      const id = insights.models.lookup(name);
      return id === undefined ? [] : [id];
    });
  }
  const field = (cells: readonly Float64Array[], at: number): number[] => cells.map((cell) => cell[at]!);
  return {
    range: options.range,
    granularity: options.granularity,
    utc_offset_minutes: options.utcOffsetMinutes,
    truncated,
    buckets: Array.from({ length: count }, (_, index) => isoOf(startOf(firstBucket + index))),
    requests: field(totals, CELL.requests),
    failures: field(totals, CELL.failures),
    tokens: {
      total: field(totals, CELL.totalTokens),
      input_uncached: field(totals, CELL.uncachedInput),
      cached: field(totals, CELL.cachedTokens),
      output: field(totals, CELL.outputTokens),
      reasoning: field(totals, CELL.reasoningTokens),
    },
    cost_usd: cost,
    models: chosen.map((model) => {
      const series = perModel.get(model) ?? Array.from({ length: count }, () => emptyCell());
      return {
        model: insights.models.names[model]!,
        requests: field(series, CELL.requests),
        tokens: field(series, CELL.totalTokens),
      };
    }),
  };
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Most rows per table in one response (the rest is counted in `total_*`). */
const MAX_TABLE_ROWS = 200;

/** One row of a usage table. */
interface UsageRow {
  requests: number;
  success: number;
  failure: number;
  success_rate: number | null;
  tokens: number;
  cost_usd: number;
  latency_ms_avg: number | null;
}

function rowOf(cell: Float64Array, cost: number): UsageRow {
  const requests = cell[CELL.requests]!;
  const samples = cell[CELL.latencyCount]!;
  return {
    requests,
    success: requests - cell[CELL.failures]!,
    failure: cell[CELL.failures]!,
    success_rate: requests > 0 ? (requests - cell[CELL.failures]!) / requests : null,
    tokens: cell[CELL.totalTokens]!,
    cost_usd: cost,
    latency_ms_avg: samples > 0 ? cell[CELL.latencySum]! / samples : null,
  };
}

function byRequests<T extends { requests: number }>(rows: T[], name: (row: T) => string): T[] {
  return rows.sort((a, b) => b.requests - a.requests || compareNames(name(a), name(b)));
}

/** GET .../tables: per API key, per model and per credential. */
export function tablesView(insights: UsageInsights, prices: PriceTable, range: RangeName) {
  const nowMs = insights.nowMillis();
  insights.prune(nowMs);
  const byId = pricesById(insights, prices);
  const startHour = rangeStartHour(range, nowMs);
  const pairs = sumTables(
    startHour === undefined ? [insights.pairAll] : tablesOf(insights.pairHours.bucketsFrom(startHour)),
    insights.pairApi.length,
  );
  const credentials = sumTables(
    startHour === undefined ? [insights.credentialAll] : tablesOf(insights.credentialHours.bucketsFrom(startHour)),
    insights.credentials.length,
  );

  const apiCells = new Map<number, { cell: Float64Array; cost: number; models: Array<UsageRow & { model: string }> }>();
  const modelCells = new Map<number, { cell: Float64Array; cost: number }>();
  for (const [pair, cell] of pairs) {
    const api = insights.pairApi[pair]!;
    const model = insights.pairModel[pair]!;
    const price = byId[model];
    const cost = price === undefined ? 0 : cellCost(cell, price);
    let apiEntry = apiCells.get(api);
    if (apiEntry === undefined) {
      apiEntry = { cell: emptyCell(), cost: 0, models: [] };
      apiCells.set(api, apiEntry);
    }
    addCell(apiEntry.cell, cell);
    apiEntry.cost += cost;
    apiEntry.models.push({ model: insights.models.names[model]!, ...rowOf(cell, cost) });
    let modelEntry = modelCells.get(model);
    if (modelEntry === undefined) {
      modelEntry = { cell: emptyCell(), cost: 0 };
      modelCells.set(model, modelEntry);
    }
    addCell(modelEntry.cell, cell);
    modelEntry.cost += cost;
  }

  const apis = byRequests(
    [...apiCells.entries()].map(([api, entry]) => ({
      api: insights.apis.names[api]!,
      ...rowOf(entry.cell, entry.cost),
      models: byRequests(entry.models, (row) => row.model),
    })),
    (row) => row.api,
  );
  const models = byRequests(
    [...modelCells.entries()].map(([model, entry]) => ({
      model: insights.models.names[model]!,
      priced: byId[model] !== undefined,
      ...rowOf(entry.cell, entry.cost),
    })),
    (row) => row.model,
  );
  const credentialRows = byRequests(
    [...credentials.entries()].map(([id, cell]) => {
      const credential = insights.credentials[id]!;
      const row = rowOf(cell, 0);
      return {
        source: credential.source,
        auth_index: credential.authIndex,
        requests: row.requests,
        success: row.success,
        failure: row.failure,
        success_rate: row.success_rate,
        tokens: row.tokens,
        latency_ms_avg: row.latency_ms_avg,
      };
    }),
    (row) => `${row.source}\u0000${row.auth_index}`,
  );
  return {
    range,
    from: startHour === undefined ? null : isoOf(startHour * HOUR_MS),
    total_apis: apis.length,
    total_models: models.length,
    total_credentials: credentialRows.length,
    apis: apis.slice(0, MAX_TABLE_ROWS),
    models: models.slice(0, MAX_TABLE_ROWS),
    credentials: credentialRows.slice(0, MAX_TABLE_ROWS),
  };
}

/** Filters and paging of {@link recentView}. */
export interface RecentOptions {
  readonly range: RangeName;
  readonly api: string | undefined;
  readonly model: string | undefined;
  readonly source: string | undefined;
  readonly status: "success" | "failed" | undefined;
  readonly offset: number;
  readonly limit: number;
}

/** One recent request as the API returns it. */
export interface RecentRow {
  timestamp: string;
  api: string;
  model: string;
  source: string;
  auth_index: string;
  failed: boolean;
  latency_ms: number;
  tokens: { input: number; output: number; reasoning: number; cached: number; total: number };
  cost_usd: number | null;
}

/** GET .../requests: the latest requests (of the {@link RecentRequests} kept), filtered, latest first. */
export function recentView(insights: UsageInsights, prices: PriceTable, options: RecentOptions) {
  const nowMs = insights.nowMillis();
  const byId = pricesById(insights, prices);
  const startHour = rangeStartHour(options.range, nowMs);
  const startSeconds = startHour === undefined ? Number.NEGATIVE_INFINITY : startHour * 3600;
  const api = options.api === undefined ? undefined : (insights.apis.lookup(options.api) ?? -1);
  const model = options.model === undefined ? undefined : (insights.models.lookup(options.model) ?? -1);
  const failed = options.status === undefined ? undefined : options.status === "failed";
  const inRange = insights.recent.latest((entry) => entry.epochSeconds >= startSeconds);
  const matching = inRange.filter(
    (entry) =>
      (api === undefined || entry.api === api) &&
      (model === undefined || entry.model === model) &&
      (failed === undefined || entry.failed === failed) &&
      (options.source === undefined || insights.credentials[entry.credential]!.source === options.source),
  );
  const distinct = (values: Iterable<string>): string[] => [...new Set(values)].sort(compareNames);
  return {
    range: options.range,
    capacity: insights.recent.capacity,
    held: inRange.length,
    matching: matching.length,
    offset: options.offset,
    limit: options.limit,
    filters: {
      apis: distinct(inRange.map((entry) => insights.apis.names[entry.api]!)),
      models: distinct(inRange.map((entry) => insights.models.names[entry.model]!)),
      sources: distinct(inRange.map((entry) => insights.credentials[entry.credential]!.source)),
    },
    rows: matching.slice(options.offset, options.offset + options.limit).map((entry) => recentRow(insights, byId, entry)),
  };
}

function recentRow(insights: UsageInsights, prices: Array<ModelPrice | undefined>, entry: RecentEntry): RecentRow {
  const credential = insights.credentials[entry.credential]!;
  const price = prices[entry.model];
  let cost: number | null = null;
  if (price !== undefined) {
    const cell = newContribution();
    fillContribution(cell, entry);
    cost = cellCost(cell, price);
  }
  return {
    timestamp: formatRfc3339Nano({ epochSeconds: entry.epochSeconds, nanos: entry.nanos, offsetSeconds: entry.offsetSeconds }),
    api: insights.apis.names[entry.api]!,
    model: insights.models.names[entry.model]!,
    source: credential.source,
    auth_index: credential.authIndex,
    failed: entry.failed,
    latency_ms: entry.latencyMs,
    tokens: {
      input: entry.inputTokens,
      output: entry.outputTokens,
      reasoning: entry.reasoningTokens,
      cached: entry.cachedTokens,
      total: entry.totalTokens,
    },
    cost_usd: cost,
  };
}

/** All-time totals per model name (the cost metric reads them). */
export function modelTotals(insights: UsageInsights): Array<{ model: string; cell: Float64Array }> {
  const cells = new Map<number, Float64Array>();
  insights.modelAll.addInto(cells);
  return [...cells.entries()].map(([model, cell]) => ({ model: insights.models.names[model]!, cell }));
}
