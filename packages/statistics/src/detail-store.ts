import { DedupIndex, type KeyMatcher } from "./dedup-index";
import { StatisticsError } from "./errors";
import { formatGoRfc3339Nano } from "./rfc3339";
import { PairTable } from "./pair-table";
import { CACHED, CONTEXT, CRED, EPOCH, INPUT, LATENCY, NANOS, OUTPUT, REASONING, RowChunks, TOTAL } from "./row-chunks";
import { StringTable } from "./string-table";

/*
 * Storage of request details without a JS object per detail. One row per detail, in insertion
 * order (append-only), ten int32 fields (see row-chunks.ts):
 *   context   -> an interned (model group, offset * 2 + failed) pair; a group is (API, model)
 *   cred      -> an interned (source, auth index) pair
 *   epoch     seconds relative to the first stored detail (side table beyond ±68 years)
 *   nanos, latency and the five token counts (side table beyond int32)
 * The dedup index (dedup-index.ts) maps 32-bit hashes of the seed's dedup key to rows; a hash hit is
 * verified against the stored row, so no two distinct keys are ever confused.
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
  // Set by `prepare`:
  group: number;
  cred: number;
  /** The dedup hash, or 0 when `pipeKey` is used. */
  hash: number;
  /** The seed's key text, for details whose names contain `|`. */
  pipeKey: string | undefined;
}

/** A {@link PendingDetail} to fill (the store's scratch instances start from this). */
export function emptyPendingDetail(api: ApiEntry): PendingDetail {
  return {
    api,
    modelId: 0,
    sourceId: 0,
    authId: 0,
    epochSeconds: 0,
    nanos: 0,
    offsetSeconds: 0,
    failed: false,
    latencyMs: 0,
    input: 0,
    output: 0,
    reasoning: 0,
    cached: 0,
    total: 0,
    group: 0,
    cred: 0,
    hash: 0,
    pipeKey: undefined,
  };
}

/** How a detail is stored: the seed's `Record` (no dedup, no clamping) or one merged detail. */
export type AddMode = "record" | "merge";

const MAX_ROWS = 0x7fff_fffe;

const GOLDEN = 0x9e3779b1;

/** One step of the row hash: xor then multiply (the final `finish` spreads the bits). */
function step(h: number, value: number): number {
  return Math.imul(h ^ value, GOLDEN);
}

/** {@link step} of a safe integer: its low 32 bits, and its high bits when it has any. */
function stepWide(h: number, value: number): number {
  const low = value | 0;
  h = Math.imul(h ^ low, GOLDEN);
  return low === value ? h : Math.imul(h ^ ((value - low) / 4294967296), GOLDEN);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** The columnar detail store with its dedup index and aggregates. Internal to the package. */
export class DetailStore implements KeyMatcher {
  readonly strings = new StringTable();
  readonly apis: ApiEntry[] = [];
  private readonly apiByName = new Map<number, ApiEntry>();

  // Groups: one per (API, model) that has been named; ids from an interned (API, model) pair.
  private readonly groups = new PairTable();
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
  capacity = 0;
  epochBase = 0;
  readonly rows = new RowChunks();

  // Dedup index (and the seed's key text for details whose names contain `|`).
  private readonly dedup: DedupIndex;
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
    const rows = Math.max(1, Math.floor(initialCapacity));
    this.grow(rows);
    this.dedup = new DedupIndex(rows);
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
    const group = this.groups.intern(api.nameId, modelId);
    if (group === this.groupModel.length) {
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
    return this.rows.getWide(row, EPOCH) + this.epochBase;
  }

  /** Nanoseconds of `row`. */
  nanosOf(row: number): number {
    return this.rows.get(row, NANOS);
  }

  /** Model group of `row`. */
  groupOf(row: number): number {
    return this.contexts.first[this.rows.get(row, CONTEXT)]!;
  }

  /** UTC offset (seconds) of `row`. */
  offsetOf(row: number): number {
    return this.contexts.second[this.rows.get(row, CONTEXT)]! >> 1;
  }

  /** True when `row` failed. */
  failedOf(row: number): boolean {
    return (this.contexts.second[this.rows.get(row, CONTEXT)]! & 1) === 1;
  }

  /** Source string id of `row`. */
  sourceOf(row: number): number {
    return this.creds.first[this.rows.get(row, CRED)]!;
  }

  /** Auth index string id of `row`. */
  authOf(row: number): number {
    return this.creds.second[this.rows.get(row, CRED)]!;
  }

  /** A wide field of `row`: LATENCY, INPUT, OUTPUT, REASONING, CACHED or TOTAL. */
  wideOf(row: number, field: number): number {
    return this.rows.getWide(row, field);
  }

  /**
   * Resolves the detail's group, credential pair and dedup hash (or, when a name contains `|`, the
   * seed's key text). Ids are stable, so a prepared detail stays valid while others are added.
   */
  prepare(d: PendingDetail): void {
    const group = this.groupFor(d.api, d.modelId);
    const cred = this.creds.intern(d.sourceId, d.authId);
    d.group = group;
    d.cred = cred;
    const strings = this.strings;
    if (strings.hasPipe(d.api.nameId) || strings.hasPipe(d.modelId) || strings.hasPipe(d.sourceId) || strings.hasPipe(d.authId)) {
      d.pipeKey = this.keyText(d);
      d.hash = 0;
    } else {
      d.pipeKey = undefined;
      d.hash = this.hashOf(group, cred, d);
    }
  }

  /**
   * Loads what the dedup lookup of a prepared detail reads first. Called for a block of details
   * before they are added, it lets the CPU fetch their cache lines in parallel instead of one miss at
   * a time.
   */
  touchSlot(d: PendingDetail): number {
    return d.pipeKey === undefined ? this.dedup.touch(d.hash) : 0;
  }

  /** After {@link touchSlot}: loads the stored row a hash match points at (the likely duplicate). */
  touchRow(d: PendingDetail): number {
    if (d.pipeKey !== undefined) return 0;
    const row = this.dedup.candidate(d.hash);
    return row < 0 ? 0 : this.rows.chunkOf(row)[this.rows.baseOf(row)]!;
  }

  /**
   * Stores one prepared detail and updates every aggregate. In "merge" mode a detail whose seed dedup
   * key is already stored is skipped (returns false) and negative totals count as 0 in the global and
   * day/hour counters (the seed's `recordImported`); in "record" mode every detail is stored and
   * counted raw (the seed's `Record`). Either way the detail is entered into the dedup index.
   */
  addPrepared(d: PendingDetail, mode: AddMode): boolean {
    const { group, cred, hash, pipeKey } = d;
    const register = pipeKey !== undefined ? !this.pipeKeys.has(pipeKey) : this.dedup.find(hash, d, this) < 0;
    if (!register && mode === "merge") return false;
    if (this.count >= this.capacity) this.grow(this.count + 1);
    const row = this.count;
    if (row === 0) this.epochBase = d.epochSeconds;
    const rows = this.rows;
    const chunk = rows.chunkOf(row);
    const base = rows.baseOf(row);
    chunk[base + CONTEXT] = this.contexts.intern(group, d.offsetSeconds * 2 + (d.failed ? 1 : 0));
    chunk[base + CRED] = cred;
    chunk[base + NANOS] = d.nanos;
    rows.putWide(chunk, base + EPOCH, row, EPOCH, d.epochSeconds - this.epochBase);
    rows.putWide(chunk, base + LATENCY, row, LATENCY, d.latencyMs);
    rows.putWide(chunk, base + INPUT, row, INPUT, d.input);
    rows.putWide(chunk, base + OUTPUT, row, OUTPUT, d.output);
    rows.putWide(chunk, base + REASONING, row, REASONING, d.reasoning);
    rows.putWide(chunk, base + CACHED, row, CACHED, d.cached);
    rows.putWide(chunk, base + TOTAL, row, TOTAL, d.total);
    this.count = row + 1;
    if (register) {
      if (pipeKey !== undefined) this.pipeKeys.add(pipeKey);
      else this.dedup.insert(hash, row);
    }
    this.tally(group, d, mode);
    return true;
  }

  /** {@link prepare} then {@link addPrepared}. */
  add(d: PendingDetail, mode: AddMode): boolean {
    this.prepare(d);
    return this.addPrepared(d, mode);
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

  /** Hash of the dedup key fields (names by id, tokens normalised); equal keys hash equal. */
  private hashOf(group: number, cred: number, d: PendingDetail): number {
    let h = step(0x2545f491, group * 2 + (d.failed ? 1 : 0));
    h = step(h, cred);
    h = stepWide(h, d.epochSeconds);
    h = step(h, d.nanos);
    h = stepWide(h, d.input);
    h = stepWide(h, d.output);
    h = stepWide(h, d.reasoning);
    h = stepWide(h, d.cached);
    h = stepWide(h, d.total);
    return finish(h);
  }

  /** True when `row` holds the dedup key of the prepared detail `d` (the `KeyMatcher` of the index). */
  sameKey(row: number, d: PendingDetail): boolean {
    const rows = this.rows;
    const chunk = rows.chunkOf(row);
    const base = rows.baseOf(row);
    const context = chunk[base + CONTEXT]!;
    return (
      chunk[base + CRED] === d.cred &&
      chunk[base + NANOS] === d.nanos &&
      this.contexts.first[context] === d.group &&
      (this.contexts.second[context]! & 1) === (d.failed ? 1 : 0) &&
      rows.wideAt(chunk, base + EPOCH, row, EPOCH) + this.epochBase === d.epochSeconds &&
      rows.wideAt(chunk, base + TOTAL, row, TOTAL) === d.total &&
      rows.wideAt(chunk, base + INPUT, row, INPUT) === d.input &&
      rows.wideAt(chunk, base + OUTPUT, row, OUTPUT) === d.output &&
      rows.wideAt(chunk, base + REASONING, row, REASONING) === d.reasoning &&
      rows.wideAt(chunk, base + CACHED, row, CACHED) === d.cached
    );
  }

  /** Makes room for at least `needed` rows (one more chunk at a time). */
  private grow(needed: number): void {
    if (needed > MAX_ROWS) throw new StatisticsError("STATS_CAPACITY_EXCEEDED", `more than ${MAX_ROWS} details`);
    this.rows.ensure(needed);
    this.capacity = this.rows.capacity;
  }

  /** Bytes held by typed arrays (rows, pair tables, index): the resident cost of the details. */
  typedArrayBytes(): number {
    return this.rows.byteLength + this.dedup.byteLength + this.contexts.byteLength + this.creds.byteLength + this.groups.byteLength;
  }
}
