import type { DetailColumns } from "@usage-ledger/statistics";
import { BucketedCells, CellTable, fillContribution, newContribution } from "./usage-cells";
import { RecentRequests } from "./recent-requests";
import type { RecentEntry } from "./recent-requests";

/**
 * The dashboard's aggregates of the fleet's details, maintained incrementally as details are added
 * (never a scan over all details per request):
 *
 * - per model: all time, per hour (all hours), per minute (the last {@link MINUTES_KEPT} minutes);
 * - per (API key, model): all time, per hour for the last {@link HOURS_KEPT} hours;
 * - per credential (source, auth index): all time, per hour for the last {@link HOURS_KEPT} hours;
 * - fleet-wide successes and failures per quarter hour for the last {@link QUARTERS_KEPT} (the health grid);
 * - the {@link RECENT_CAPACITY} latest requests by timestamp.
 *
 * Memory grows with models × hours and keys × {@link HOURS_KEPT} hours, not with details.
 * Queries ({@link InsightQueries} in insight-queries.ts) sum the cells a range covers.
 */

/** Per-minute cells kept: the sparklines show 60 minutes, the rates 30; the rest is slack. */
const MINUTES_KEPT = 180;
/** Per-hour cells of keys and credentials kept: the longest bounded range (7 days) and slack. */
const HOURS_KEPT = 7 * 24 + 2;
/** Quarter hours of the health grid: 7 days. */
export const QUARTERS_KEPT = 7 * 96;
/** Latest requests kept for the recent-requests table. */
const RECENT_CAPACITY = 2_000;

/** A credential: the upstream account (`source`) and its `auth_index`. */
export interface Credential {
  readonly source: string;
  readonly authIndex: string;
}

/** Interns names to small ids. */
class NameTable {
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();

  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }

  lookup(name: string): number | undefined {
    return this.ids.get(name);
  }
}

/** Options of {@link UsageInsights}. */
export interface UsageInsightsOptions {
  /** Milliseconds since the epoch ("now" decides what recent cells are kept). */
  readonly nowMillis: () => number;
  /** Latest requests kept; default {@link RECENT_CAPACITY}. */
  readonly recentCapacity?: number;
}

/** The aggregates (see the module comment). Fed with {@link ingest}; read by insight-queries.ts. */
export class UsageInsights {
  readonly nowMillis: () => number;
  readonly apis = new NameTable();
  readonly models = new NameTable();
  private readonly credentialIds = new Map<string, number>();
  readonly credentials: Credential[] = [];

  readonly modelAll = new CellTable();
  readonly modelHours = new BucketedCells();
  readonly modelMinutes = new BucketedCells();
  /** Keyed by (API, model) pair id ({@link pairApi}, {@link pairModel}). */
  readonly pairAll = new CellTable();
  readonly pairHours = new BucketedCells();
  readonly credentialAll = new CellTable();
  readonly credentialHours = new BucketedCells();
  /** Quarter hour → [successes, failures]. */
  readonly health = new Map<number, [number, number]>();
  readonly recent: RecentRequests;
  private ingestedCount = 0;
  private prunedAtMinute = Number.NEGATIVE_INFINITY;

  constructor(options: UsageInsightsOptions) {
    this.nowMillis = options.nowMillis;
    this.recent = new RecentRequests(options.recentCapacity ?? RECENT_CAPACITY);
  }

  /** Details ingested so far. */
  get details(): number {
    return this.ingestedCount;
  }

  /** The API id of each (API, model) pair id. */
  readonly pairApi: number[] = [];
  /** The model id of each (API, model) pair id. */
  readonly pairModel: number[] = [];
  private readonly pairIds = new Map<string, number>();

  /** The id of an (API, model) pair (small integers keep the cell maps fast). */
  private pairId(api: number, model: number): number {
    const key = `${api}:${model}`;
    let id = this.pairIds.get(key);
    if (id === undefined) {
      id = this.pairApi.length;
      this.pairApi.push(api);
      this.pairModel.push(model);
      this.pairIds.set(key, id);
    }
    return id;
  }

  private credentialId(source: string, authIndex: string): number {
    const key = `${source}\u0000${authIndex}`;
    let id = this.credentialIds.get(key);
    if (id === undefined) {
      id = this.credentials.length;
      this.credentials.push({ source, authIndex });
      this.credentialIds.set(key, id);
    }
    return id;
  }

  /** Adds a batch of details (as `exportDetails` gives them) to every aggregate. */
  ingest(columns: DetailColumns): void {
    const nowMs = this.nowMillis();
    this.prune(nowMs);
    const nowMinute = Math.floor(nowMs / 60_000);
    const firstMinute = nowMinute - MINUTES_KEPT + 1;
    const firstHour = Math.floor(nowMs / 3_600_000) - HOURS_KEPT + 1;
    const firstQuarter = Math.floor(nowMs / 900_000) - QUARTERS_KEPT + 1;
    const { strings, count } = columns;
    const apiOf = new Int32Array(strings.length).fill(-1);
    const modelOf = new Int32Array(strings.length).fill(-1);
    const credentialOf = new Map<number, number>();
    const pairOf = new Map<number, number>();
    // Only the newest `capacity` rows of the batch can enter the recent requests: find the oldest
    // time that can (a selection, O(rows)) instead of offering every row to the heap.
    const recentFloor = newestFloor(columns, this.recent.capacity);
    const contribution = newContribution();
    const figures = {
      failed: false,
      totalTokens: 0,
      inputTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
      cachedTokens: 0,
      latencyMs: 0,
    };
    for (let row = 0; row < count; row++) {
      const apiLocal = columns.api[row]!;
      let api = apiOf[apiLocal]!;
      if (api < 0) api = apiOf[apiLocal] = this.apis.id(strings[apiLocal]!);
      const modelLocal = columns.model[row]!;
      let model = modelOf[modelLocal]!;
      if (model < 0) model = modelOf[modelLocal] = this.models.id(strings[modelLocal]!);
      const sourceLocal = columns.source[row]!;
      const authLocal = columns.authIndex[row]!;
      const credentialKey = sourceLocal * strings.length + authLocal;
      let credential = credentialOf.get(credentialKey);
      if (credential === undefined) {
        credential = this.credentialId(strings[sourceLocal]!, strings[authLocal]!);
        credentialOf.set(credentialKey, credential);
      }
      figures.failed = columns.failed[row] === 1;
      figures.totalTokens = columns.totalTokens[row]!;
      figures.inputTokens = columns.inputTokens[row]!;
      figures.outputTokens = columns.outputTokens[row]!;
      figures.reasoningTokens = columns.reasoningTokens[row]!;
      figures.cachedTokens = columns.cachedTokens[row]!;
      figures.latencyMs = columns.latencyMs[row]!;
      fillContribution(contribution, figures);

      const epochSeconds = columns.epochSeconds[row]!;
      const hour = Math.floor(epochSeconds / 3600);
      const pairLocal = apiLocal * strings.length + modelLocal;
      let pair = pairOf.get(pairLocal);
      if (pair === undefined) {
        pair = this.pairId(api, model);
        pairOf.set(pairLocal, pair);
      }
      this.modelAll.add(model, contribution);
      this.modelHours.add(hour, model, contribution);
      this.pairAll.add(pair, contribution);
      this.credentialAll.add(credential, contribution);
      if (hour >= firstHour) {
        this.pairHours.add(hour, pair, contribution);
        this.credentialHours.add(hour, credential, contribution);
      }
      const minute = Math.floor(epochSeconds / 60);
      if (minute >= firstMinute) this.modelMinutes.add(minute, model, contribution);
      const quarter = Math.floor(epochSeconds / 900);
      if (quarter >= firstQuarter) {
        let block = this.health.get(quarter);
        if (block === undefined) {
          block = [0, 0];
          this.health.set(quarter, block);
        }
        block[figures.failed ? 1 : 0] += 1;
      }
      const nanos = columns.nanos[row]!;
      if (epochSeconds >= recentFloor && this.recent.wouldKeep(epochSeconds, nanos)) {
        this.recent.offer({
          epochSeconds,
          nanos,
          offsetSeconds: columns.offsetSeconds[row]!,
          api,
          model,
          credential,
          failed: figures.failed,
          latencyMs: figures.latencyMs,
          inputTokens: figures.inputTokens,
          outputTokens: figures.outputTokens,
          reasoningTokens: figures.reasoningTokens,
          cachedTokens: figures.cachedTokens,
          totalTokens: figures.totalTokens,
        } satisfies RecentEntry);
      }
    }
    this.ingestedCount += count;
  }

  /** Drops the recent cells that fell out of their windows (at most once a minute). */
  prune(nowMs: number): void {
    const minute = Math.floor(nowMs / 60_000);
    if (minute === this.prunedAtMinute) return;
    this.prunedAtMinute = minute;
    this.modelMinutes.dropBefore(minute - MINUTES_KEPT + 1);
    const firstHour = Math.floor(nowMs / 3_600_000) - HOURS_KEPT + 1;
    this.pairHours.dropBefore(firstHour);
    this.credentialHours.dropBefore(firstHour);
    const firstQuarter = Math.floor(nowMs / 900_000) - QUARTERS_KEPT + 1;
    for (const quarter of this.health.keys()) if (quarter < firstQuarter) this.health.delete(quarter);
  }
}

/** The whole second at or below which the `keep` newest rows of a batch lie (−∞ when it has no more rows than that). */
function newestFloor(columns: DetailColumns, keep: number): number {
  const count = columns.count;
  if (count <= keep) return Number.NEGATIVE_INFINITY;
  const seconds = columns.epochSeconds.slice(0, count);
  // Quickselect for the keep-th largest.
  const target = count - keep;
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const pivot = seconds[(low + high) >> 1]!;
    let i = low;
    let j = high;
    while (i <= j) {
      while (seconds[i]! < pivot) i++;
      while (seconds[j]! > pivot) j--;
      if (i <= j) {
        const swap = seconds[i]!;
        seconds[i] = seconds[j]!;
        seconds[j] = swap;
        i++;
        j--;
      }
    }
    if (target <= j) high = j;
    else if (target >= i) low = i;
    else break;
  }
  return seconds[target]!;
}
