import { statisticsKey } from "./statistics-key";
import { allocateDetailColumns, type DetailColumns, validateDetailColumns } from "./detail-columns";
import { type ApiEntry, DetailStore, emptyPendingDetail, type PendingDetail } from "./detail-store";
import { StatisticsError } from "./errors";
import { compareUtf8, goTrimSpace } from "./go-text";
import { type ParsedSnapshot, parseStatisticsSnapshot } from "./import-parse";
import { type StatisticsLogger, silentLogger } from "./logger";
import type { MergeResult, SnapshotOptions, StatisticsSnapshot, StatisticsTotals } from "./snapshot-types";
import { CACHED, INPUT, LATENCY, OUTPUT, REASONING, TOTAL } from "./row-chunks";
import { buildSnapshot, snapshotJsonChunks, writeSnapshotJson } from "./snapshot-view";
import { type Clock, createSystemClock, type Timestamp, timestampFieldsProblem, ZERO_TIME_EPOCH_SECONDS } from "./timestamp";
import { normaliseTotal } from "./tokens";
import type { UsageRecord } from "./usage-record";

/** Options of {@link RequestStatistics}. */
export interface RequestStatisticsOptions {
  /**
   * "Now", for a record or detail without a timestamp or with Go's zero time (the seed's
   * `time.Now()`). Default: `createSystemClock()` (UTC, strictly increasing).
   */
  readonly clock?: Clock;
  /** Warnings (a counter beyond 2^53). Default: silent. */
  readonly logger?: StatisticsLogger;
  /** Detail rows allocated up front (default 1024); storage grows by 1.5x beyond. */
  readonly initialCapacity?: number;
}

/**
 * What `apply` did with a record: `added`; `duplicate` (its dedup key is already stored: the seed's
 * `skipped`); `ignored` (its statistics key is blank after trimming, which the seed's merge skips
 * without counting it as added or skipped).
 */
export type ApplyResult = "added" | "duplicate" | "ignored";

/** Storage figures of a store (diagnostics and benchmarks). */
export interface StorageStats {
  readonly details: number;
  /** Detail rows allocated. */
  readonly capacity: number;
  /** Bytes of every typed array: detail rows, interned tuple tables and dedup index. */
  readonly typedArrayBytes: number;
  readonly strings: number;
  /** Distinct (API, model, offset, failed) tuples. */
  readonly contexts: number;
  /** Distinct (source, auth index) pairs. */
  readonly credentials: number;
}

function invalidRecord(why: string): never {
  throw new StatisticsError("STATS_INVALID_RECORD", `invalid usage record: ${why}`);
}

function checkRecord(record: UsageRecord): void {
  if (typeof record !== "object" || record === null) invalidRecord("not an object");
  if (typeof record.apiKey !== "string") invalidRecord("apiKey is not a string");
  if (typeof record.model !== "string") invalidRecord("model is not a string");
  if (typeof record.provider !== "string") invalidRecord("provider is not a string");
  if (typeof record.endpoint !== "string") invalidRecord("endpoint is not a string");
  if (typeof record.source !== "string") invalidRecord("source is not a string");
  if (typeof record.authIndex !== "string") invalidRecord("authIndex is not a string");
  if (typeof record.failed !== "boolean") invalidRecord("failed is not a boolean");
  if (!Number.isSafeInteger(record.statusCode)) invalidRecord("statusCode is not an integer");
  if (!Number.isSafeInteger(record.latencyMs)) invalidRecord("latencyMs is not a safe integer");
  const t = record.tokens;
  if (typeof t !== "object" || t === null) invalidRecord("tokens is not an object");
  if (
    !Number.isSafeInteger(t.inputTokens) ||
    !Number.isSafeInteger(t.outputTokens) ||
    !Number.isSafeInteger(t.reasoningTokens) ||
    !Number.isSafeInteger(t.cachedTokens) ||
    !Number.isSafeInteger(t.totalTokens)
  ) {
    invalidRecord("a token count is not a safe integer");
  }
  const total = normaliseTotal(t.inputTokens, t.outputTokens, t.reasoningTokens, t.cachedTokens, t.totalTokens);
  if (!Number.isSafeInteger(total)) invalidRecord("the normalised token total is not a safe integer");
  const ts = record.timestamp;
  if (ts !== undefined) {
    if (typeof ts !== "object" || ts === null) invalidRecord("timestamp is neither undefined nor a Timestamp");
    const problem = timestampFieldsProblem(ts.epochSeconds, ts.nanos, ts.offsetSeconds);
    if (problem !== undefined) throw new StatisticsError("STATS_INVALID_TIMESTAMP", `invalid usage record timestamp: ${problem}`);
  }
}

/** Rows handled per block by the batch paths: resolved, then their index slots fetched, then added. */
const BLOCK = 128;

/** The API of the scratch details before first use. */
const NO_API: ApiEntry = { nameId: -1, totalRequests: 0, totalTokens: 0, models: new Map() };

function isParsedSnapshot(value: StatisticsSnapshot | ParsedSnapshot): value is ParsedSnapshot {
  return (value as Partial<ParsedSnapshot>).kind === "parsed-snapshot";
}

/**
 * The seed's `RequestStatistics` (CLIProxyAPI `internal/usage/logger_plugin.go`), kept in compact
 * typed-array storage (no JS object per detail) with a persistent dedup index. Every method is
 * synchronous.
 *
 * - `record` is the seed's `Record` (no dedup, raw totals);
 * - `apply` is a one-detail `MergeSnapshot` (the aggregator's path for every consumed record);
 * - `mergeSnapshot` / `mergeDetails` are the seed's `MergeSnapshot`;
 * - `snapshot` / `snapshotJson` are the seed's `Snapshot` and its exact Go JSON.
 */
export class RequestStatistics {
  private store: DetailStore;
  private readonly clock: Clock;
  private readonly logger: StatisticsLogger;
  private readonly initialCapacity: number;
  private readonly pending: PendingDetail;
  /** Scratch details of one block of a batch (see `runBlock`). */
  private readonly block: PendingDetail[];
  /** Where the cache-warming loads of `runBlock` go, so that they are not optimised away. */
  private sink = 0;
  /** Raw statistics key -> API entry after trimming (null: blank, ignored). */
  private mergeApis = new Map<string, ApiEntry | null>();
  /** Raw model name -> string id after trimming (blank -> `unknown`). */
  private mergeModels = new Map<string, number>();
  private warnedOverflow = false;

  constructor(options: RequestStatisticsOptions = {}) {
    this.clock = options.clock ?? createSystemClock();
    this.logger = options.logger ?? silentLogger;
    this.initialCapacity = options.initialCapacity ?? 1024;
    this.store = new DetailStore(this.initialCapacity);
    this.pending = emptyPendingDetail(NO_API);
    this.block = Array.from({ length: BLOCK }, () => emptyPendingDetail(NO_API));
  }

  /** A store holding the merge of `snapshots`, in order (the counts do not depend on the order). */
  static fromSnapshots(
    snapshots: Iterable<StatisticsSnapshot | ParsedSnapshot>,
    options: RequestStatisticsOptions = {},
  ): RequestStatistics {
    const statistics = new RequestStatistics(options);
    for (const snapshot of snapshots) statistics.mergeSnapshot(snapshot);
    return statistics;
  }

  /** Number of stored details; details are append-only, so rows `0..detailCount` never move. */
  get detailCount(): number {
    return this.store.count;
  }

  /**
   * The seed's `Record`: the statistics key is the API key, else the endpoint, else the provider,
   * else `unknown` (not trimmed); failed = `failed || statusCode >= 400`; a token total of 0 is
   * normalised; model `""` is `unknown`; no timestamp or Go's zero time takes `clock()`; day and hour
   * come from the timestamp in its own offset. No dedup and no clamping of negative totals (the
   * detail still enters the dedup index, so a later merge of the same detail is skipped).
   * Throws `STATS_INVALID_RECORD` / `STATS_INVALID_TIMESTAMP` (the store is then unchanged).
   */
  record(record: UsageRecord): void {
    checkRecord(record);
    const strings = this.store.strings;
    const p = this.pending;
    p.api = this.store.apiFor(strings.intern(statisticsKey(record)));
    p.modelId = strings.intern(record.model === "" ? "unknown" : record.model);
    this.fillFromRecord(record, p);
    this.store.add(p, "record");
    this.checkOverflow();
  }

  /**
   * Applies one record as a one-detail `MergeSnapshot` under its resolved statistics key and model
   * (the aggregator's path for every consumed record): the key is resolved as in `record`, then
   * trimmed (Go's `strings.TrimSpace`), blank -> `ignored`; the model is trimmed, blank -> `unknown`;
   * a detail whose seed dedup key (`api|model|UTC RFC3339Nano|source|auth_index|failed|input|output|
   * reasoning|cached|total`, tokens normalised) is stored already -> `duplicate`; else it is stored
   * (`added`), a negative total counting as 0 in the global and day/hour counters and raw per API and
   * model. `latencyMs` is kept but is not part of the key. Costs O(1) amortised.
   */
  apply(record: UsageRecord): ApplyResult {
    checkRecord(record);
    const api = this.mergeApi(statisticsKey(record));
    if (api === null) return "ignored";
    const p = this.pending;
    p.api = api;
    p.modelId = this.mergeModel(record.model);
    this.fillFromRecord(record, p);
    const added = this.store.add(p, "merge");
    this.checkOverflow();
    return added ? "added" : "duplicate";
  }

  /**
   * `apply` for many records at once, with the same result for each, in order; the aggregator's
   * path for a fetched batch. Every record is checked first, so a bad one throws before anything
   * changes. Faster than one `apply` per record: the index lookups of a block of records overlap.
   */
  applyBatch(records: readonly UsageRecord[]): ApplyResult[] {
    for (const record of records) checkRecord(record);
    const results = new Array<ApplyResult>(records.length);
    const block = this.block;
    const positions = new Int32Array(BLOCK);
    for (let start = 0; start < records.length; start += BLOCK) {
      const end = Math.min(records.length, start + BLOCK);
      let n = 0;
      for (let i = start; i < end; i++) {
        const record = records[i]!;
        const api = this.mergeApi(statisticsKey(record));
        if (api === null) {
          results[i] = "ignored";
          continue;
        }
        const p = block[n]!;
        p.api = api;
        p.modelId = this.mergeModel(record.model);
        this.fillFromRecord(record, p);
        positions[n] = i;
        n += 1;
      }
      this.runBlock(n, (k, added) => {
        results[positions[k]!] = added ? "added" : "duplicate";
      });
    }
    this.checkOverflow();
    return results;
  }

  /**
   * Adds the first `n` scratch details in merge mode: prepares them all, then loads every index slot
   * they will probe (independent loads the CPU overlaps), then the rows of likely duplicates, then
   * adds them in order. Results are as if they were added one by one.
   */
  private runBlock(n: number, done: (k: number, added: boolean) => void): void {
    const store = this.store;
    const block = this.block;
    let sink = this.sink;
    for (let k = 0; k < n; k++) store.prepare(block[k]!);
    for (let k = 0; k < n; k++) sink ^= store.touchSlot(block[k]!);
    for (let k = 0; k < n; k++) sink ^= store.touchRow(block[k]!);
    this.sink = sink;
    for (let k = 0; k < n; k++) done(k, store.addPrepared(block[k]!, "merge"));
  }

  private fillFromRecord(record: UsageRecord, p: PendingDetail): void {
    const strings = this.store.strings;
    const t = record.tokens;
    let ts = record.timestamp;
    if (ts === undefined || (ts.epochSeconds === ZERO_TIME_EPOCH_SECONDS && ts.nanos === 0)) ts = this.now();
    p.sourceId = strings.intern(record.source);
    p.authId = strings.intern(record.authIndex);
    p.epochSeconds = ts.epochSeconds;
    p.nanos = ts.nanos;
    p.offsetSeconds = ts.offsetSeconds;
    p.failed = record.failed || record.statusCode >= 400;
    p.latencyMs = record.latencyMs;
    p.input = t.inputTokens;
    p.output = t.outputTokens;
    p.reasoning = t.reasoningTokens;
    p.cached = t.cachedTokens;
    p.total = normaliseTotal(t.inputTokens, t.outputTokens, t.reasoningTokens, t.cachedTokens, t.totalTokens);
  }

  private now(): Timestamp {
    const ts = this.clock();
    const problem =
      typeof ts === "object" && ts !== null ? timestampFieldsProblem(ts.epochSeconds, ts.nanos, ts.offsetSeconds) : "not an object";
    if (problem !== undefined) throw new StatisticsError("STATS_INVALID_TIMESTAMP", `the clock returned an invalid timestamp: ${problem}`);
    return ts;
  }

  private mergeApi(raw: string): ApiEntry | null {
    let entry = this.mergeApis.get(raw);
    if (entry === undefined) {
      const name = goTrimSpace(raw);
      entry = name === "" ? null : this.store.apiFor(this.store.strings.intern(name));
      this.mergeApis.set(raw, entry);
    }
    return entry;
  }

  private mergeModel(raw: string): number {
    let id = this.mergeModels.get(raw);
    if (id === undefined) {
      const name = goTrimSpace(raw);
      id = this.store.strings.intern(name === "" ? "unknown" : name);
      this.mergeModels.set(raw, id);
    }
    return id;
  }

  private checkOverflow(): void {
    if (this.warnedOverflow) return;
    const s = this.store;
    if (Math.abs(s.totalTokens) > Number.MAX_SAFE_INTEGER || s.totalRequests > Number.MAX_SAFE_INTEGER) {
      this.warnedOverflow = true;
      this.logger.warn({ totalTokens: s.totalTokens }, "statistics counter beyond 2^53: sums are no longer exact");
    }
  }

  /**
   * The seed's `MergeSnapshot`: merges a snapshot (a `StatisticsSnapshot` object, decoded first as
   * `parseStatisticsSnapshot` does, or a `ParsedSnapshot`) and returns `{added, skipped}`. Blank API
   * names (after trimming) are skipped and counted in neither; every other API name is created even
   * without details; blank model -> `unknown`; duplicates (against the store and within the snapshot)
   * are skipped; snapshot-level totals are ignored and rebuilt from the details; negative totals count
   * as 0 in the global and day/hour counters but raw per API and model; Go's zero time takes
   * `clock()`; `latency_ms` is kept, not part of the dedup key. Go iterates maps at random; here the
   * order is fixed: API names sorted (UTF-8 bytes), then model names sorted, then details in order.
   * It decides only which of two details with one dedup key but different offset or latency is kept;
   * the counts never depend on it. Cost O(incoming). Throws (store unchanged) `STATS_INVALID_JSON`
   * or `STATS_INVALID_COLUMNS`.
   */
  mergeSnapshot(snapshot: StatisticsSnapshot | ParsedSnapshot): MergeResult {
    const parsed = isParsedSnapshot(snapshot) ? snapshot : parseStatisticsSnapshot(snapshot);
    validateDetailColumns(parsed.details);
    for (const name of parsed.apiNames) {
      if (typeof name !== "string") throw new StatisticsError("STATS_INVALID_COLUMNS", "apiNames holds a non-string");
    }
    for (const name of parsed.apiNames) this.mergeApi(name);
    return this.mergeRows(parsed.details);
  }

  /**
   * Merges a columnar batch (from `exportDetails`, a decoded snapshot chunk, or `ParsedSnapshot.details`)
   * with exactly `mergeSnapshot`'s semantics, row by row in batch order, without any JSON. For a store
   * filled by `apply`/`mergeSnapshot`, `exportDetails` then `mergeDetails` into an empty store
   * rebuilds it exactly. Throws `STATS_INVALID_COLUMNS` before merging anything.
   */
  mergeDetails(columns: DetailColumns): MergeResult {
    validateDetailColumns(columns);
    return this.mergeRows(columns);
  }

  private mergeRows(columns: DetailColumns): MergeResult {
    const { count, strings } = columns;
    const table = this.store.strings;
    const apiOf: (ApiEntry | null | undefined)[] = new Array<ApiEntry | null | undefined>(strings.length);
    const modelOf = new Int32Array(strings.length).fill(-1);
    const plainOf = new Int32Array(strings.length).fill(-1);
    const plain = (local: number): number => {
      let id = plainOf[local]!;
      if (id < 0) {
        id = table.intern(strings[local]!);
        plainOf[local] = id;
      }
      return id;
    };
    const block = this.block;
    const result: MergeResult = { added: 0, skipped: 0 };
    const tallyResult = (_k: number, added: boolean): void => {
      if (added) result.added += 1;
      else result.skipped += 1;
    };
    for (let start = 0; start < count; start += BLOCK) {
      const end = Math.min(count, start + BLOCK);
      let n = 0;
      for (let row = start; row < end; row++) {
        const apiLocal = columns.api[row]!;
        let api = apiOf[apiLocal];
        if (api === undefined) {
          api = this.mergeApi(strings[apiLocal]!);
          apiOf[apiLocal] = api;
        }
        if (api === null) continue;
        const modelLocal = columns.model[row]!;
        let modelId = modelOf[modelLocal]!;
        if (modelId < 0) {
          modelId = this.mergeModel(strings[modelLocal]!);
          modelOf[modelLocal] = modelId;
        }
        const p = block[n]!;
        n += 1;
        p.api = api;
        p.modelId = modelId;
        p.sourceId = plain(columns.source[row]!);
        p.authId = plain(columns.authIndex[row]!);
        const epochSeconds = columns.epochSeconds[row]!;
        const nanos = columns.nanos[row]!;
        if (epochSeconds === ZERO_TIME_EPOCH_SECONDS && nanos === 0) {
          const now = this.now();
          p.epochSeconds = now.epochSeconds;
          p.nanos = now.nanos;
          p.offsetSeconds = now.offsetSeconds;
        } else {
          p.epochSeconds = epochSeconds;
          p.nanos = nanos;
          p.offsetSeconds = columns.offsetSeconds[row]!;
        }
        p.failed = columns.failed[row] === 1;
        p.latencyMs = columns.latencyMs[row]!;
        p.input = columns.inputTokens[row]!;
        p.output = columns.outputTokens[row]!;
        p.reasoning = columns.reasoningTokens[row]!;
        p.cached = columns.cachedTokens[row]!;
        p.total = normaliseTotal(p.input, p.output, p.reasoning, p.cached, columns.totalTokens[row]!);
      }
      this.runBlock(n, tallyResult);
    }
    this.checkOverflow();
    return result;
  }

  /**
   * Details `from` (inclusive) to `to` (exclusive) in insertion order, as a columnar batch with its
   * own string table. Rows never move, so an incremental snapshot exports `[lastCount, detailCount)`.
   * Throws `STATS_INVALID_RANGE` unless `0 <= from <= to <= detailCount` (integers).
   */
  exportDetails(from = 0, to: number = this.store.count): DetailColumns {
    const store = this.store;
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to || to > store.count) {
      throw new StatisticsError("STATS_INVALID_RANGE", `invalid detail range [${from}, ${to}) of ${store.count} details`);
    }
    const strings: string[] = [];
    const localOf = new Int32Array(store.strings.size).fill(-1);
    const local = (id: number): number => {
      let value = localOf[id]!;
      if (value < 0) {
        value = strings.length;
        strings.push(store.strings.get(id));
        localOf[id] = value;
      }
      return value;
    };
    const columns = allocateDetailColumns(to - from, strings);
    for (let row = from, i = 0; row < to; row++, i++) {
      const group = store.groupOf(row);
      columns.api[i] = local(store.groupApi[group]!.nameId);
      columns.model[i] = local(store.groupModel[group]!);
      columns.source[i] = local(store.sourceOf(row));
      columns.authIndex[i] = local(store.authOf(row));
      columns.epochSeconds[i] = store.epochOf(row);
      columns.nanos[i] = store.nanosOf(row);
      columns.offsetSeconds[i] = store.offsetOf(row);
      columns.failed[i] = store.failedOf(row) ? 1 : 0;
      columns.latencyMs[i] = store.wideOf(row, LATENCY);
      columns.inputTokens[i] = store.wideOf(row, INPUT);
      columns.outputTokens[i] = store.wideOf(row, OUTPUT);
      columns.reasoningTokens[i] = store.wideOf(row, REASONING);
      columns.cachedTokens[i] = store.wideOf(row, CACHED);
      columns.totalTokens[i] = store.wideOf(row, TOTAL);
    }
    return columns;
  }

  /**
   * Every API name in the store, sorted (UTF-8 bytes), also those without details (which a snapshot
   * import creates; `exportDetails` cannot carry them: merge `{apis: {name: {}}}` to recreate one).
   */
  apiNames(): string[] {
    return this.store.apis.map((api) => this.store.strings.get(api.nameId)).sort(compareUtf8);
  }

  /**
   * The seed's `Snapshot` as a plain JSON-ready object (field for field, with `latency_ms` on each
   * detail). Options: `details: false` empties every `details` array; `detailsSince` keeps details at
   * or after an instant. Totals and buckets are always whole.
   */
  snapshot(options: SnapshotOptions = {}): StatisticsSnapshot {
    return buildSnapshot(this.store, options);
  }

  /**
   * The snapshot as the exact bytes of Go's `json.Marshal`: struct fields in declaration order, map
   * keys sorted by UTF-8 bytes, details in insertion order (`timestamp, latency_ms, source,
   * auth_index, tokens, failed`), Go's escaping of `<`, `>`, `&`, U+2028 and U+2029.
   */
  snapshotJson(options: SnapshotOptions = {}): string {
    const chunks: string[] = [];
    writeSnapshotJson(this.store, (chunk) => chunks.push(chunk), options);
    return chunks.join("");
  }

  /** `snapshotJson` handed out in chunks of about 64 KiB (for streaming a large snapshot). */
  writeSnapshotJson(write: (chunk: string) => void, options: SnapshotOptions = {}): void {
    writeSnapshotJson(this.store, write, options);
  }

  /**
   * `snapshotJson` as a lazy sequence of chunks of about 64 KiB, for a caller that yields between
   * chunks (a server streaming a large snapshot without blocking). The snapshot is the state at the
   * first chunk: records applied or details merged while the rest is drawn do not show in it.
   */
  snapshotJsonChunks(options: SnapshotOptions = {}): Generator<string, void, undefined> {
    return snapshotJsonChunks(this.store, options);
  }

  /** The global counters. */
  totals(): StatisticsTotals {
    const s = this.store;
    return {
      totalRequests: s.totalRequests,
      successCount: s.successCount,
      failureCount: s.failureCount,
      totalTokens: s.totalTokens,
    };
  }

  /** Storage figures (details, allocated rows, typed-array bytes, strings, tuple tables). */
  storageStats(): StorageStats {
    const s = this.store;
    return {
      details: s.count,
      capacity: s.capacity,
      typedArrayBytes: s.typedArrayBytes(),
      strings: s.strings.size,
      contexts: s.contexts.count,
      credentials: s.creds.count,
    };
  }

  /** Empties the store (details, index, aggregates, API entries). */
  clear(): void {
    this.store = new DetailStore(this.initialCapacity);
    this.mergeApis = new Map();
    this.mergeModels = new Map();
    this.warnedOverflow = false;
  }
}
