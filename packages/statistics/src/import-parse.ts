import { allocateDetailColumns, type DetailColumns } from "./detail-columns";
import { StatisticsError } from "./errors";
import { compareUtf8, goFoldName, toWellFormed } from "./go-text";
import { parseRfc3339 } from "./rfc3339";
import type { StatisticsTotals } from "./snapshot-types";
import { normaliseTotal } from "./tokens";
import { type Timestamp, ZERO_TIMESTAMP } from "./timestamp";

/*
 * Decoding an imported snapshot as Go's json.Unmarshal decodes it into the seed's structs: unknown
 * keys ignored, keys matched to fields exactly or else case-insensitively, null leaves a value as it
 * is (and sets a map or slice to nil), a field named twice (e.g. `usage` and `Usage`) decodes into
 * the value already there, and any type mismatch is an error (the handler's 400 "invalid json").
 */

/** A snapshot decoded and checked, ready for `mergeSnapshot` (no further parsing on merge). */
export interface ParsedSnapshot {
  readonly kind: "parsed-snapshot";
  /**
   * Every API name of the snapshot as given (untrimmed), sorted by UTF-8 bytes, also those without
   * models or details: merging creates each non-blank one, as the seed does.
   */
  readonly apiNames: readonly string[];
  /**
   * The details in merge order: API names sorted, then each API's model names sorted, then each
   * model's details in their order. Names and tokens as given (merge trims and normalises); a
   * missing or null timestamp is Go's zero time (merge stamps it with the clock).
   */
  readonly details: DetailColumns;
  /** The snapshot's own top-level counters; merge ignores them and rebuilds totals from details. */
  readonly totals: StatisticsTotals;
}

/** A parsed POST /v0/management/usage/import body. */
export interface ParsedImportBody {
  /** 0 (missing) or 1. */
  readonly version: number;
  readonly snapshot: ParsedSnapshot;
}

class InvalidJson extends Error {}

function mismatch(path: string, expected: string, value: unknown): never {
  const got = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  throw new InvalidJson(`${path}: expected ${expected}, got ${got}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function decodeInt(value: unknown, current: number, path: string): number {
  if (value === null) return current;
  if (typeof value !== "number" || !Number.isInteger(value)) mismatch(path, "an integer", value);
  if (!Number.isSafeInteger(value)) throw new InvalidJson(`${path}: integer beyond ±(2^53-1) cannot be held exactly`);
  return value + 0;
}

function decodeBool(value: unknown, current: boolean, path: string): boolean {
  if (value === null) return current;
  if (typeof value !== "boolean") mismatch(path, "a boolean", value);
  return value;
}

function decodeString(value: unknown, current: string, path: string): string {
  if (value === null) return current;
  if (typeof value !== "string") mismatch(path, "a string", value);
  return toWellFormed(value);
}

function decodeTime(value: unknown, current: Timestamp, path: string): Timestamp {
  if (value === null) return current;
  if (typeof value !== "string") mismatch(path, "an RFC 3339 string", value);
  try {
    return parseRfc3339(value);
  } catch (error) {
    throw new InvalidJson(`${path}: ${(error as Error).message}`);
  }
}

/** Field name -> decoder of that field into `target`. */
type Fields<T> = Record<string, (target: T, value: unknown, path: string) => void>;

/** Matches each key of `value` to a field as Go does and decodes it; a non-object is an error. */
function decodeStruct<T>(target: T, value: unknown, fields: Fields<T>, path: string): T {
  if (value === null) return target;
  if (!isObject(value)) mismatch(path, "an object", value);
  for (const key of Object.keys(value)) {
    let decode = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (decode === undefined) {
      const folded = goFoldName(key);
      for (const name of Object.keys(fields)) {
        if (goFoldName(name) === folded) {
          decode = fields[name];
          break;
        }
      }
    }
    decode?.(target, value[key], `${path}.${key}`);
  }
  return target;
}

function decodeMap<T>(
  value: unknown,
  current: Map<string, T> | null,
  decodeElement: (value: unknown, path: string) => T,
  path: string,
): Map<string, T> | null {
  if (value === null) return null;
  if (!isObject(value)) mismatch(path, "an object", value);
  const map = current ?? new Map<string, T>();
  for (const key of Object.keys(value)) map.set(toWellFormed(key), decodeElement(value[key], `${path}[${JSON.stringify(key)}]`));
  return map;
}

function decodeSlice<T>(
  value: unknown,
  current: T[] | null,
  decodeElement: (value: unknown, existing: T | undefined, path: string) => T,
  path: string,
): T[] | null {
  if (value === null) return null;
  if (!Array.isArray(value)) mismatch(path, "an array", value);
  return value.map((element: unknown, index) => decodeElement(element, current?.[index], `${path}[${index}]`));
}

interface GoTokens {
  input: number;
  output: number;
  reasoning: number;
  cached: number;
  total: number;
}

interface GoDetail {
  timestamp: Timestamp;
  latencyMs: number;
  source: string;
  authIndex: string;
  tokens: GoTokens;
  failed: boolean;
}

interface GoModel {
  totalRequests: number;
  totalTokens: number;
  details: GoDetail[] | null;
}

interface GoApi {
  totalRequests: number;
  totalTokens: number;
  models: Map<string, GoModel> | null;
}

interface GoSnapshot {
  totals: StatisticsTotals;
  apis: Map<string, GoApi> | null;
}

const tokenFields: Fields<GoTokens> = {
  input_tokens: (t, v, p) => void (t.input = decodeInt(v, t.input, p)),
  output_tokens: (t, v, p) => void (t.output = decodeInt(v, t.output, p)),
  reasoning_tokens: (t, v, p) => void (t.reasoning = decodeInt(v, t.reasoning, p)),
  cached_tokens: (t, v, p) => void (t.cached = decodeInt(v, t.cached, p)),
  total_tokens: (t, v, p) => void (t.total = decodeInt(v, t.total, p)),
};

const detailFields: Fields<GoDetail> = {
  timestamp: (d, v, p) => void (d.timestamp = decodeTime(v, d.timestamp, p)),
  latency_ms: (d, v, p) => void (d.latencyMs = decodeInt(v, d.latencyMs, p)),
  source: (d, v, p) => void (d.source = decodeString(v, d.source, p)),
  auth_index: (d, v, p) => void (d.authIndex = decodeString(v, d.authIndex, p)),
  tokens: (d, v, p) => void decodeStruct(d.tokens, v, tokenFields, p),
  failed: (d, v, p) => void (d.failed = decodeBool(v, d.failed, p)),
};

function zeroDetail(): GoDetail {
  return {
    timestamp: ZERO_TIMESTAMP,
    latencyMs: 0,
    source: "",
    authIndex: "",
    tokens: { input: 0, output: 0, reasoning: 0, cached: 0, total: 0 },
    failed: false,
  };
}

const modelFields: Fields<GoModel> = {
  total_requests: (m, v, p) => void (m.totalRequests = decodeInt(v, m.totalRequests, p)),
  total_tokens: (m, v, p) => void (m.totalTokens = decodeInt(v, m.totalTokens, p)),
  details: (m, v, p) =>
    void (m.details = decodeSlice(
      v,
      m.details,
      (e, existing, q) =>
        decodeStruct(existing === undefined ? zeroDetail() : { ...existing, tokens: { ...existing.tokens } }, e, detailFields, q),
      p,
    )),
};

const apiFields: Fields<GoApi> = {
  total_requests: (a, v, p) => void (a.totalRequests = decodeInt(v, a.totalRequests, p)),
  total_tokens: (a, v, p) => void (a.totalTokens = decodeInt(v, a.totalTokens, p)),
  models: (a, v, p) =>
    void (a.models = decodeMap(
      v,
      a.models,
      (e, q) => decodeStruct({ totalRequests: 0, totalTokens: 0, details: null }, e, modelFields, q),
      p,
    )),
};

/** The four `*_by_*` maps are checked (map[string]int64) but not kept: merge rebuilds them. */
const bucketField = (_: GoSnapshot, v: unknown, p: string): void => {
  decodeMap(v, null, (e, q) => decodeInt(e, 0, q), p);
};

const snapshotFields: Fields<GoSnapshot> = {
  total_requests: (s, v, p) => void (s.totals.totalRequests = decodeInt(v, s.totals.totalRequests, p)),
  success_count: (s, v, p) => void (s.totals.successCount = decodeInt(v, s.totals.successCount, p)),
  failure_count: (s, v, p) => void (s.totals.failureCount = decodeInt(v, s.totals.failureCount, p)),
  total_tokens: (s, v, p) => void (s.totals.totalTokens = decodeInt(v, s.totals.totalTokens, p)),
  apis: (s, v, p) =>
    void (s.apis = decodeMap(v, s.apis, (e, q) => decodeStruct({ totalRequests: 0, totalTokens: 0, models: null }, e, apiFields, q), p)),
  requests_by_day: bucketField,
  requests_by_hour: bucketField,
  tokens_by_day: bucketField,
  tokens_by_hour: bucketField,
};

function emptyGoSnapshot(): GoSnapshot {
  return { totals: { totalRequests: 0, successCount: 0, failureCount: 0, totalTokens: 0 }, apis: null };
}

/** Lays the decoded snapshot out as columns in merge order. */
function toParsed(snapshot: GoSnapshot): ParsedSnapshot {
  const apis = [...(snapshot.apis ?? new Map<string, GoApi>())].sort((a, b) => compareUtf8(a[0], b[0]));
  const ordered: { api: string; model: string; details: GoDetail[] }[] = [];
  let count = 0;
  for (const [api, entry] of apis) {
    const models = [...(entry.models ?? new Map<string, GoModel>())].sort((a, b) => compareUtf8(a[0], b[0]));
    for (const [model, modelEntry] of models) {
      const details = modelEntry.details ?? [];
      ordered.push({ api, model, details });
      count += details.length;
    }
  }
  const strings: string[] = [];
  const ids = new Map<string, number>();
  const intern = (value: string): number => {
    let id = ids.get(value);
    if (id === undefined) {
      id = strings.length;
      strings.push(value);
      ids.set(value, id);
    }
    return id;
  };
  const columns = allocateDetailColumns(count, strings);
  let row = 0;
  for (const { api, model, details } of ordered) {
    const apiId = intern(api);
    const modelId = intern(model);
    for (const detail of details) {
      const t = detail.tokens;
      if (!Number.isSafeInteger(normaliseTotal(t.input, t.output, t.reasoning, t.cached, t.total))) {
        throw new InvalidJson(`apis[${JSON.stringify(api)}].models[${JSON.stringify(model)}]: token total beyond ±(2^53-1)`);
      }
      columns.api[row] = apiId;
      columns.model[row] = modelId;
      columns.source[row] = intern(detail.source);
      columns.authIndex[row] = intern(detail.authIndex);
      columns.epochSeconds[row] = detail.timestamp.epochSeconds;
      columns.nanos[row] = detail.timestamp.nanos;
      columns.offsetSeconds[row] = detail.timestamp.offsetSeconds;
      columns.failed[row] = detail.failed ? 1 : 0;
      columns.latencyMs[row] = detail.latencyMs;
      columns.inputTokens[row] = t.input;
      columns.outputTokens[row] = t.output;
      columns.reasoningTokens[row] = t.reasoning;
      columns.cachedTokens[row] = t.cached;
      columns.totalTokens[row] = t.total;
      row++;
    }
  }
  return { kind: "parsed-snapshot", apiNames: apis.map(([name]) => name), details: columns, totals: { ...snapshot.totals } };
}

function rethrow(error: unknown): never {
  if (error instanceof InvalidJson) throw new StatisticsError("STATS_INVALID_JSON", `invalid json: ${error.message}`);
  throw error;
}

/**
 * Decodes a bare `StatisticsSnapshot` (already parsed from JSON) exactly as Go's `json.Unmarshal`
 * into the seed's struct would, and lays it out for `mergeSnapshot`. `null` is an empty snapshot.
 * Throws `STATS_INVALID_JSON` for anything Go would reject: a type mismatch anywhere (a string or a
 * fraction where an int64 is, an array where an object is, ...) or a timestamp that is not RFC 3339.
 * Deliberate differences, documented in the README: integers beyond ±(2^53-1) (which Go takes as
 * int64) and UTC offsets of 24h or more are refused too.
 */
export function parseStatisticsSnapshot(json: unknown): ParsedSnapshot {
  try {
    return toParsed(decodeStruct(emptyGoSnapshot(), json, snapshotFields, "usage"));
  } catch (error) {
    return rethrow(error);
  }
}

/**
 * Decodes a POST /v0/management/usage/import body (already parsed from JSON) as the seed's handler
 * does: an export body `{version, exported_at, usage}` or a GET /usage body `{usage,
 * failed_requests}` both work (unknown keys, `exported_at` included, are ignored). A missing
 * `version` is 0. Throws `STATS_INVALID_JSON` for any type mismatch (checked first, as Go's decoder
 * runs before the version check), then `STATS_UNSUPPORTED_VERSION` for a version other than 0 or 1.
 */
export function parseImportBody(json: unknown): ParsedImportBody {
  const body = { version: 0, usage: emptyGoSnapshot() };
  try {
    decodeStruct(
      body,
      json,
      {
        version: (b, v, p) => void (b.version = decodeInt(v, b.version, p)),
        usage: (b, v, p) => void decodeStruct(b.usage, v, snapshotFields, p),
      },
      "body",
    );
    if (body.version !== 0 && body.version !== 1) {
      throw new StatisticsError("STATS_UNSUPPORTED_VERSION", `unsupported version ${body.version} (0 or 1 expected)`);
    }
    return { version: body.version, snapshot: toParsed(body.usage) };
  } catch (error) {
    return rethrow(error);
  }
}

/**
 * {@link parseImportBody} of JSON text; text that is not JSON is `STATS_INVALID_JSON`. JSON.parse
 * keeps no number lexemes, so `1.0` or `1e2` where Go wants an int64 pass as 1 and 100 here.
 */
export function parseImportText(text: string): ParsedImportBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StatisticsError("STATS_INVALID_JSON", `invalid json: ${(error as Error).message}`, { cause: error });
  }
  return parseImportBody(json);
}
