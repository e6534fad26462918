import { StatisticsError } from "./errors";
import { formatGoRfc3339Nano } from "./rfc3339";
import { IntColumn } from "./int-column";
import { PairTable } from "./pair-table";
import { StringTable } from "./string-table";

/*
 * Columnar storage of request details. One row per detail, in insertion order (append-only), no JS
 * object per detail:
 *   context  Uint32   -> a row of the context table (API, model, source, auth index, offset, failed)
 *   epoch    Int32    seconds relative to the first stored detail (side table beyond ±68 years)
 *   nanos    Int32
 *   latency  Int32    (side table beyond int32)
 *   5 token  Int32    columns (side table beyond int32)
 * The dedup index is an open-addressing table of [32-bit hash, row + 1] pairs; a hash hit is verified
 * against the stored row, so no two distinct keys are ever confused.
 */

/** An API entry of the statistics (the seed's `apiStats`). */
export interface ApiEntry {
  readonly nameId: number;
  totalRequests: number;
  totalTokens: number;
  /** Model string id -> group id. */
  readonly models: Map<number, number>;
}

/** One detail about to be stored; a single instance is reused for every call (no allocation). */
export interface PendingDetail {
  api: ApiEntry;
  modelId: number;
  sourceId: number;
  authId: number;
  epochSeconds: number;
  nanos: number;
  offsetSeconds: number;
  failed: boolean;
  latencyMs: number;
  input: number;
  output: number;
  reasoning: number;
  cached: number;
  /** Already normalised. */
  total: number;
}

/** How a detail is stored: the seed's `Record` (no dedup, no clamping) or one merged detail. */
export type AddMode = "record" | "merge";

const MAX_ROWS = 0x7fff_fffe;
const INDEX_MAX_LOAD = 0.75;
const GROWTH = 1.5;

function mix(h: number, value: number): number {
  let k = Math.imul(value, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Mixes a safe integer as its low and high 32 bits. */
function mixWide(h: number, value: number): number {
  return mix(mix(h, value | 0), Math.floor(value / 4294967296) | 0);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** Slot of `hash` in a table of `capacity` slots (multiply-shift, any capacity). */
function bucket(hash: number, capacity: number): number {
  return Math.floor(((hash >>> 0) * capacity) / 4294967296);
}

function grownCapacity(current: number, needed: number): number {
  let next = Math.max(16, Math.ceil(current * GROWTH));
  while (next < needed) next = Math.ceil(next * GROWTH);
  return next;
}

/** The columnar detail store with its dedup index and aggregates. Internal to the package. */
export class DetailStore {
  readonly strings = new StringTable();
  readonly apis: ApiEntry[] = [];
  private readonly apiByName = new Map<number, ApiEntry>();

  // Groups: one per (API, model) that has been named.
  readonly groupApi: ApiEntry[] = [];
  readonly groupModel: number[] = [];
  readonly groupRequests: number[] = [];
  readonly groupTokens: number[] = [];

  /** (group, offset * 2 + failed) pairs. */
  readonly contexts = new PairTable();
  /** (source string id, auth index string id) pairs. */
  readonly creds = new PairTable();

  // Rows.
  count = 0;
  capacity: number;
  epochBase = 0;
  rowContext: Int32Array;
  rowCred: Int32Array;
  readonly epoch: IntColumn;
  nanos: Int32Array;
  readonly latency: IntColumn;
  readonly input: IntColumn;
  readonly output: IntColumn;
  readonly reasoning: IntColumn;
  readonly cached: IntColumn;
  readonly total: IntColumn;

  // Dedup index.
  private indexCapacity = 0;
  private indexSize = 0;
  private index = new Int32Array(0);
  private readonly pipeKeys = new Set<string>();

  // Aggregates (the seed's global counters and day/hour maps).
  totalRequests = 0;
  successCount = 0;
  failureCount = 0;
  totalTokens = 0;
  readonly dayNumbers: number[] = [];
  readonly dayRequests: number[] = [];
  readonly dayTokens: number[] = [];
  private readonly daySlots = new Map<number, number>();
  private lastDay = Number.NaN;
  private lastDaySlot = -1;
  readonly hourRequests = new Float64Array(24);
  readonly hourTokens = new Float64Array(24);

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, Math.floor(initialCapacity));
    this.rowContext = new Int32Array(this.capacity);
    this.rowCred = new Int32Array(this.capacity);
    this.epoch = new IntColumn(this.capacity);
    this.nanos = new Int32Array(this.capacity);
    this.latency = new IntColumn(this.capacity);
    this.input = new IntColumn(this.capacity);
    this.output = new IntColumn(this.capacity);
    this.reasoning = new IntColumn(this.capacity);
    this.cached = new IntColumn(this.capacity);
    this.total = new IntColumn(this.capacity);
    this.resizeIndex(Math.ceil(this.capacity / INDEX_MAX_LOAD));
  }

  /** The API entry named by string id `nameId`, created when new. */
  apiFor(nameId: number): ApiEntry {
    let entry = this.apiByName.get(nameId);
    if (entry === undefined) {
      entry = { nameId, totalRequests: 0, totalTokens: 0, models: new Map() };
      this.apiByName.set(nameId, entry);
      this.apis.push(entry);
    }
    return entry;
  }

  /** The group of (`api`, model string id), created when new (it shows only once it holds a detail). */
  groupFor(api: ApiEntry, modelId: number): number {
    let group = api.models.get(modelId);
    if (group === undefined) {
      group = this.groupModel.length;
      api.models.set(modelId, group);
      this.groupApi.push(api);
      this.groupModel.push(modelId);
      this.groupRequests.push(0);
      this.groupTokens.push(0);
    }
    return group;
  }

  /** Epoch seconds of `row`. */
  epochOf(row: number): number {
    return this.epoch.get(row) + this.epochBase;
  }

  /** Model group of `row`. */
  groupOf(row: number): number {
    return this.contexts.first[this.rowContext[row]!]!;
  }

  /** UTC offset (seconds) of `row`. */
  offsetOf(row: number): number {
    return this.contexts.second[this.rowContext[row]!]! >> 1;
  }

  /** True when `row` failed. */
  failedOf(row: number): boolean {
    return (this.contexts.second[this.rowContext[row]!]! & 1) === 1;
  }

  /** Source string id of `row`. */
  sourceOf(row: number): number {
    return this.creds.first[this.rowCred[row]!]!;
  }

  /** Auth index string id of `row`. */
  authOf(row: number): number {
    return this.creds.second[this.rowCred[row]!]!;
  }

  /**
   * Stores one detail and updates every aggregate. In "merge" mode a detail whose seed dedup key is
   * already stored is skipped (returns false) and negative totals count as 0 in the global and
   * day/hour counters (the seed's `recordImported`); in "record" mode every detail is stored and
   * counted raw (the seed's `Record`). Either way the detail is entered into the dedup index.
   */
  add(d: PendingDetail, mode: AddMode): boolean {
    const group = this.groupFor(d.api, d.modelId);
    const strings = this.strings;
    let hash = 0;
    let register = true;
    let pipeKey: string | undefined;
    if (strings.hasPipe(d.api.nameId) || strings.hasPipe(d.modelId) || strings.hasPipe(d.sourceId) || strings.hasPipe(d.authId)) {
      pipeKey = this.keyText(d);
      register = !this.pipeKeys.has(pipeKey);
    } else {
      hash = this.hashOf(group, d);
      register = this.findRow(hash, group, d) < 0;
    }
    if (!register && mode === "merge") return false;
    if (this.count >= this.capacity) this.grow(this.count + 1);
    const row = this.count;
    if (row === 0) this.epochBase = d.epochSeconds;
    this.rowContext[row] = this.contexts.intern(group, d.offsetSeconds * 2 + (d.failed ? 1 : 0));
    this.rowCred[row] = this.creds.intern(d.sourceId, d.authId);
    this.epoch.set(row, d.epochSeconds - this.epochBase);
    this.nanos[row] = d.nanos;
    this.latency.set(row, d.latencyMs);
    this.input.set(row, d.input);
    this.output.set(row, d.output);
    this.reasoning.set(row, d.reasoning);
    this.cached.set(row, d.cached);
    this.total.set(row, d.total);
    this.count = row + 1;
    if (register) {
      if (pipeKey !== undefined) this.pipeKeys.add(pipeKey);
      else this.insertIndex(hash, row);
    }
    this.tally(group, d, mode);
    return true;
  }

  private tally(group: number, d: PendingDetail, mode: AddMode): void {
    const raw = d.total;
    const counted = mode === "merge" && raw < 0 ? 0 : raw;
    this.totalRequests += 1;
    if (d.failed) this.failureCount += 1;
    else this.successCount += 1;
    this.totalTokens += counted;
    d.api.totalRequests += 1;
    d.api.totalTokens += raw;
    this.groupRequests[group]! += 1;
    this.groupTokens[group]! += raw;
    const local = d.epochSeconds + d.offsetSeconds;
    const day = Math.floor(local / 86_400);
    let slot = this.lastDaySlot;
    if (day !== this.lastDay) {
      let found = this.daySlots.get(day);
      if (found === undefined) {
        found = this.dayNumbers.length;
        this.daySlots.set(day, found);
        this.dayNumbers.push(day);
        this.dayRequests.push(0);
        this.dayTokens.push(0);
      }
      slot = found;
      this.lastDay = day;
      this.lastDaySlot = found;
    }
    this.dayRequests[slot]! += 1;
    this.dayTokens[slot]! += counted;
    const hourOfDay = Math.floor((local - day * 86_400) / 3600);
    this.hourRequests[hourOfDay]! += 1;
    this.hourTokens[hourOfDay]! += counted;
  }

  /** The seed's dedup key text (used only for details whose strings contain `|`). */
  private keyText(d: PendingDetail): string {
    const s = this.strings;
    const utc = formatGoRfc3339Nano({ epochSeconds: d.epochSeconds, nanos: d.nanos, offsetSeconds: 0 });
    return `${s.get(d.api.nameId)}|${s.get(d.modelId)}|${utc}|${s.get(d.sourceId)}|${s.get(d.authId)}|${d.failed}|${d.input}|${d.output}|${d.reasoning}|${d.cached}|${d.total}`;
  }

  private hashOf(group: number, d: PendingDetail): number {
    let h = mix(0x9747b28c, group);
    h = mix(h, d.sourceId);
    h = mix(h, d.authId);
    h = mix(h, d.failed ? 1 : 0);
    h = mixWide(h, d.epochSeconds);
    h = mix(h, d.nanos);
    h = mixWide(h, d.input);
    h = mixWide(h, d.output);
    h = mixWide(h, d.reasoning);
    h = mixWide(h, d.cached);
    h = mixWide(h, d.total);
    return finish(h);
  }

  /** The row holding the same dedup key as `d`, or -1. */
  private findRow(hash: number, group: number, d: PendingDetail): number {
    const index = this.index;
    const capacity = this.indexCapacity;
    let slot = bucket(hash, capacity);
    for (;;) {
      const stored = index[2 * slot + 1]!;
      if (stored === 0) return -1;
      if (index[2 * slot] === hash && this.sameKey(stored - 1, group, d)) return stored - 1;
      slot += 1;
      if (slot === capacity) slot = 0;
    }
  }

  private sameKey(row: number, group: number, d: PendingDetail): boolean {
    const context = this.rowContext[row]!;
    const cred = this.rowCred[row]!;
    return (
      this.contexts.first[context] === group &&
      (this.contexts.second[context]! & 1) === (d.failed ? 1 : 0) &&
      this.creds.first[cred] === d.sourceId &&
      this.creds.second[cred] === d.authId &&
      this.nanos[row] === d.nanos &&
      this.epoch.get(row) + this.epochBase === d.epochSeconds &&
      this.total.get(row) === d.total &&
      this.input.get(row) === d.input &&
      this.output.get(row) === d.output &&
      this.reasoning.get(row) === d.reasoning &&
      this.cached.get(row) === d.cached
    );
  }

  private insertIndex(hash: number, row: number): void {
    if (this.indexSize + 1 > this.indexCapacity * INDEX_MAX_LOAD) {
      this.resizeIndex(grownCapacity(this.indexCapacity, Math.ceil((this.indexSize + 1) / INDEX_MAX_LOAD)));
    }
    this.place(this.index, this.indexCapacity, hash, row + 1);
    this.indexSize += 1;
  }

  private place(index: Int32Array, capacity: number, hash: number, value: number): void {
    let slot = bucket(hash, capacity);
    while (index[2 * slot + 1] !== 0) {
      slot += 1;
      if (slot === capacity) slot = 0;
    }
    index[2 * slot] = hash;
    index[2 * slot + 1] = value;
  }

  private resizeIndex(capacity: number): void {
    const old = this.index;
    const oldCapacity = this.indexCapacity;
    const next = new Int32Array(2 * capacity);
    for (let slot = 0; slot < oldCapacity; slot++) {
      const value = old[2 * slot + 1]!;
      if (value !== 0) this.place(next, capacity, old[2 * slot]!, value);
    }
    this.index = next;
    this.indexCapacity = capacity;
  }

  /** Makes room for at least `needed` rows. */
  private grow(needed: number): void {
    if (needed > MAX_ROWS) throw new StatisticsError("STATS_CAPACITY_EXCEEDED", `more than ${MAX_ROWS} details`);
    const capacity = Math.min(MAX_ROWS, grownCapacity(this.capacity, needed));
    const used = this.count;
    const rowContext = new Int32Array(capacity);
    rowContext.set(this.rowContext.subarray(0, used));
    this.rowContext = rowContext;
    const rowCred = new Int32Array(capacity);
    rowCred.set(this.rowCred.subarray(0, used));
    this.rowCred = rowCred;
    const nanos = new Int32Array(capacity);
    nanos.set(this.nanos.subarray(0, used));
    this.nanos = nanos;
    for (const column of [this.epoch, this.latency, this.input, this.output, this.reasoning, this.cached, this.total]) {
      column.resize(capacity, used);
    }
    this.capacity = capacity;
  }

  /** Bytes held by typed arrays (columns, pair tables, index): the resident cost of the details. */
  typedArrayBytes(): number {
    const columns = [this.epoch, this.latency, this.input, this.output, this.reasoning, this.cached, this.total];
    let bytes = this.rowContext.byteLength + this.rowCred.byteLength + this.nanos.byteLength + this.index.byteLength;
    for (const column of columns) bytes += column.data.byteLength;
    return bytes + this.contexts.byteLength + this.creds.byteLength;
  }
}
