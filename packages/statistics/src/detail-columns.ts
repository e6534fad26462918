import { StatisticsError } from "./errors";
import { timestampFieldsProblem } from "./timestamp";
import { normaliseTotal } from "./tokens";

/**
 * A JSON-free, columnar batch of request details: what `exportDetails` returns and `mergeDetails`
 * takes (and what packages/wire encodes as a snapshot chunk). Row `i` of every column describes
 * detail `i`; string columns hold indexes into `strings`, the batch's own string table. Every number
 * is a safe integer. `exportDetails` gives normalised token totals; `mergeDetails` normalises (the
 * seed's rule is idempotent), so a batch may also carry raw totals.
 */
export interface DetailColumns {
  /** Number of details (rows). Every column has at least this many elements. */
  readonly count: number;
  /** The batch's local string table. */
  readonly strings: readonly string[];
  /** API name (the statistics key) of each detail, an index into `strings`. */
  readonly api: Uint32Array;
  /** Model name, an index into `strings`. */
  readonly model: Uint32Array;
  /** Source (upstream credential), an index into `strings`. */
  readonly source: Uint32Array;
  /** Auth index, an index into `strings`. */
  readonly authIndex: Uint32Array;
  /** Timestamp: whole seconds since 1970-01-01T00:00:00Z. */
  readonly epochSeconds: Float64Array;
  /** Timestamp: nanoseconds within the second. */
  readonly nanos: Int32Array;
  /** Timestamp: UTC offset in seconds east (the day/hour buckets use it). */
  readonly offsetSeconds: Int32Array;
  /** 1 = failed, 0 = success. */
  readonly failed: Uint8Array;
  readonly latencyMs: Float64Array;
  readonly inputTokens: Float64Array;
  readonly outputTokens: Float64Array;
  readonly reasoningTokens: Float64Array;
  readonly cachedTokens: Float64Array;
  readonly totalTokens: Float64Array;
}

/** A {@link DetailColumns} whose columns can be written (for building a batch). */
export type MutableDetailColumns = Omit<DetailColumns, "strings"> & { strings: string[] };

/** Allocates a batch of `count` zeroed rows with the given string table. */
export function allocateDetailColumns(count: number, strings: string[] = []): MutableDetailColumns {
  return {
    count,
    strings,
    api: new Uint32Array(count),
    model: new Uint32Array(count),
    source: new Uint32Array(count),
    authIndex: new Uint32Array(count),
    epochSeconds: new Float64Array(count),
    nanos: new Int32Array(count),
    offsetSeconds: new Int32Array(count),
    failed: new Uint8Array(count),
    latencyMs: new Float64Array(count),
    inputTokens: new Float64Array(count),
    outputTokens: new Float64Array(count),
    reasoningTokens: new Float64Array(count),
    cachedTokens: new Float64Array(count),
    totalTokens: new Float64Array(count),
  };
}

function fail(message: string): never {
  throw new StatisticsError("STATS_INVALID_COLUMNS", `invalid detail columns: ${message}`);
}

const INDEX_COLUMNS = ["api", "model", "source", "authIndex"] as const;
const NUMBER_COLUMNS = ["latencyMs", "inputTokens", "outputTokens", "reasoningTokens", "cachedTokens", "totalTokens"] as const;

type ArrayType = (new (length: number) => { readonly length: number }) & { readonly name: string };

function expectArray(columns: DetailColumns, name: keyof DetailColumns, type: ArrayType, count: number): void {
  const column: unknown = columns[name];
  if (!(column instanceof type)) fail(`${name} is not a ${type.name}`);
  if (column.length < count) fail(`${name} has fewer than ${count} rows`);
}

/**
 * Checks a batch completely before anything is merged (so a bad batch changes nothing): column
 * types and lengths, string indexes within `strings`, strings being strings, storable timestamps,
 * `failed` 0 or 1, and safe-integer latencies, token counts and normalised totals. Throws
 * `STATS_INVALID_COLUMNS`.
 */
export function validateDetailColumns(columns: DetailColumns): void {
  // One fused pass proves the common, valid case; the column-by-column check below names the
  // first problem of a batch that fails it (and is the reference: both accept the same batches).
  if (!columnsValid(columns)) checkColumns(columns);
}

/** The column-by-column check of {@link validateDetailColumns}: throws at the first problem. */
function checkColumns(columns: DetailColumns): void {
  if (typeof columns !== "object" || columns === null) fail("not an object");
  const { count, strings } = columns;
  if (!Number.isSafeInteger(count) || count < 0) fail("count is not a non-negative integer");
  if (!Array.isArray(strings)) fail("strings is not an array");
  for (let i = 0; i < strings.length; i++) if (typeof strings[i] !== "string") fail(`strings[${i}] is not a string`);
  for (const name of INDEX_COLUMNS) {
    expectArray(columns, name, Uint32Array, count);
    const column = columns[name];
    for (let row = 0; row < count; row++) {
      if (column[row]! >= strings.length) fail(`${name}[${row}] is outside the string table`);
    }
  }
  expectArray(columns, "epochSeconds", Float64Array, count);
  expectArray(columns, "nanos", Int32Array, count);
  expectArray(columns, "offsetSeconds", Int32Array, count);
  expectArray(columns, "failed", Uint8Array, count);
  for (const name of NUMBER_COLUMNS) {
    expectArray(columns, name, Float64Array, count);
    const column = columns[name];
    for (let row = 0; row < count; row++) {
      if (!Number.isSafeInteger(column[row])) fail(`${name}[${row}] is not a safe integer`);
    }
  }
  const { epochSeconds, nanos, offsetSeconds, failed } = columns;
  const { inputTokens, outputTokens, reasoningTokens, cachedTokens, totalTokens } = columns;
  for (let row = 0; row < count; row++) {
    if (failed[row]! > 1) fail(`failed[${row}] is not 0 or 1`);
    const total = normaliseTotal(inputTokens[row]!, outputTokens[row]!, reasoningTokens[row]!, cachedTokens[row]!, totalTokens[row]!);
    if (!Number.isSafeInteger(total)) fail(`the normalised total of row ${row} is not a safe integer`);
    const problem = timestampFieldsProblem(epochSeconds[row]!, nanos[row]!, offsetSeconds[row]!);
    if (problem !== undefined) fail(`timestamp of row ${row}: ${problem}`);
  }
}

/**
 * True when the batch passes every check of {@link checkColumns}, in one pass over the rows with
 * the columns held in locals; false at the first doubt (the caller then runs the full check).
 */
function columnsValid(columns: DetailColumns): boolean {
  if (typeof columns !== "object" || columns === null) return false;
  const { count, strings } = columns;
  if (!Number.isSafeInteger(count) || count < 0 || !Array.isArray(strings)) return false;
  for (let i = 0; i < strings.length; i++) if (typeof strings[i] !== "string") return false;
  const { api, model, source, authIndex, epochSeconds, nanos, offsetSeconds, failed } = columns;
  const { latencyMs, inputTokens, outputTokens, reasoningTokens, cachedTokens, totalTokens } = columns;
  const typed =
    api instanceof Uint32Array &&
    model instanceof Uint32Array &&
    source instanceof Uint32Array &&
    authIndex instanceof Uint32Array &&
    epochSeconds instanceof Float64Array &&
    nanos instanceof Int32Array &&
    offsetSeconds instanceof Int32Array &&
    failed instanceof Uint8Array &&
    latencyMs instanceof Float64Array &&
    inputTokens instanceof Float64Array &&
    outputTokens instanceof Float64Array &&
    reasoningTokens instanceof Float64Array &&
    cachedTokens instanceof Float64Array &&
    totalTokens instanceof Float64Array;
  if (!typed) return false;
  for (const column of [
    api,
    model,
    source,
    authIndex,
    epochSeconds,
    nanos,
    offsetSeconds,
    failed,
    latencyMs,
    inputTokens,
    outputTokens,
    reasoningTokens,
    cachedTokens,
    totalTokens,
  ]) {
    if (column.length < count) return false;
  }
  const tableSize = strings.length;
  for (let row = 0; row < count; row++) {
    if (api[row]! >= tableSize || model[row]! >= tableSize || source[row]! >= tableSize || authIndex[row]! >= tableSize) return false;
    const input = inputTokens[row]!;
    const output = outputTokens[row]!;
    const reasoning = reasoningTokens[row]!;
    const cached = cachedTokens[row]!;
    const total = totalTokens[row]!;
    if (
      !Number.isSafeInteger(latencyMs[row]) ||
      !Number.isSafeInteger(input) ||
      !Number.isSafeInteger(output) ||
      !Number.isSafeInteger(reasoning) ||
      !Number.isSafeInteger(cached) ||
      !Number.isSafeInteger(total) ||
      failed[row]! > 1 ||
      !Number.isSafeInteger(normaliseTotal(input, output, reasoning, cached, total)) ||
      timestampFieldsProblem(epochSeconds[row]!, nanos[row]!, offsetSeconds[row]!) !== undefined
    ) {
      return false;
    }
  }
  return true;
}

/** Rows `[start, end)` of a batch as views (no copy); the string table is shared, so a slice may carry strings it does not use. */
export function sliceDetailColumns(columns: DetailColumns, start: number, end: number): DetailColumns {
  if (start === 0 && end === columns.count && columns.api.length === end) return columns;
  return {
    count: end - start,
    strings: columns.strings,
    api: columns.api.subarray(start, end),
    model: columns.model.subarray(start, end),
    source: columns.source.subarray(start, end),
    authIndex: columns.authIndex.subarray(start, end),
    epochSeconds: columns.epochSeconds.subarray(start, end),
    nanos: columns.nanos.subarray(start, end),
    offsetSeconds: columns.offsetSeconds.subarray(start, end),
    failed: columns.failed.subarray(start, end),
    latencyMs: columns.latencyMs.subarray(start, end),
    inputTokens: columns.inputTokens.subarray(start, end),
    outputTokens: columns.outputTokens.subarray(start, end),
    reasoningTokens: columns.reasoningTokens.subarray(start, end),
    cachedTokens: columns.cachedTokens.subarray(start, end),
    totalTokens: columns.totalTokens.subarray(start, end),
  };
}
