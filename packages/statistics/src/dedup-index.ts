import type { PendingDetail } from "./detail-store";

/** Verifies a hash hit against the stored row (so distinct keys are never confused). */
export interface KeyMatcher {
  sameKey(row: number, d: PendingDetail): boolean;
}

const MAX_LOAD = 0.75;

/** Slot of `hash` in a table of `capacity` slots (multiply-shift: any capacity, monotone in the hash). */
function bucket(hash: number, capacity: number): number {
  return Math.floor(((hash >>> 0) * capacity) / 4294967296);
}

/** Linear probing from the hash's slot to the first free one. */
function place(table: Int32Array, capacity: number, hash: number, value: number): void {
  let slot = bucket(hash, capacity);
  while (table[2 * slot + 1] !== 0) {
    slot += 1;
    if (slot === capacity) slot = 0;
  }
  table[2 * slot] = hash;
  table[2 * slot + 1] = value;
}

/**
 * The dedup index: 32-bit hashes of the seed's dedup key mapped to stored rows, kept for the life
 * of the store (never rebuilt per merge). Open addressing with linear probing over `[hash, row + 1]`
 * pairs (8 bytes a slot, load at most 0.75, doubling). A hash match is verified against the row
 * (`KeyMatcher`): equal hashes of distinct keys only cost a comparison.
 */
export class DedupIndex {
  private capacity: number;
  private size = 0;
  private table: Int32Array;

  constructor(expectedEntries: number) {
    this.capacity = Math.max(16, Math.ceil(expectedEntries / MAX_LOAD));
    this.table = new Int32Array(2 * this.capacity);
  }

  /** Entries held. */
  get entries(): number {
    return this.size;
  }

  /** Bytes of the table. */
  get byteLength(): number {
    return this.table.byteLength;
  }

  /** The row of a stored key equal to `d`'s (whose hash is `hash`), or -1. */
  find(hash: number, d: PendingDetail, matcher: KeyMatcher): number {
    const table = this.table;
    const capacity = this.capacity;
    let slot = bucket(hash, capacity);
    for (;;) {
      const stored = table[2 * slot + 1]!;
      if (stored === 0) return -1;
      if (table[2 * slot] === hash && matcher.sameKey(stored - 1, d)) return stored - 1;
      slot += 1;
      if (slot === capacity) slot = 0;
    }
  }

  /** Adds an entry (its key must not be stored yet). */
  insert(hash: number, row: number): void {
    if (this.size + 1 > this.capacity * MAX_LOAD) this.resize(this.capacity * 2);
    place(this.table, this.capacity, hash, row + 1);
    this.size += 1;
  }

  /**
   * Loads the slot `find(hash)` reads first and returns it. Called for a block of keys before they
   * are looked up, it lets the CPU fetch their cache lines in parallel instead of one miss at a time.
   */
  touch(hash: number): number {
    return this.table[2 * bucket(hash, this.capacity) + 1]!;
  }

  /** The first row whose hash equals `hash` (unverified), or -1: the likely duplicate. */
  candidate(hash: number): number {
    const table = this.table;
    let slot = bucket(hash, this.capacity);
    for (;;) {
      const stored = table[2 * slot + 1]!;
      if (stored === 0) return -1;
      if (table[2 * slot] === hash) return stored - 1;
      slot += 1;
      if (slot === this.capacity) slot = 0;
    }
  }

  /** Rehashes into `capacity` slots (in slot order: the multiply-shift slot is monotone in the hash,
   * so the new table fills roughly front to back). */
  private resize(capacity: number): void {
    const old = this.table;
    const table = new Int32Array(2 * capacity);
    for (let slot = 0; slot < this.capacity; slot++) {
      const value = old[2 * slot + 1]!;
      if (value !== 0) place(table, capacity, old[2 * slot]!, value);
    }
    this.table = table;
    this.capacity = capacity;
  }
}
