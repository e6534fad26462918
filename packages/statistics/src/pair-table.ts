import { StatisticsError } from "./errors";

function pairHash(a: number, b: number): number {
  let h = Math.imul(a ^ 0x3c6ef372, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  h = Math.imul(h ^ b, 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h ^ (h >>> 16);
}

/**
 * Interns pairs of int32 values as small ids (0, 1, 2, ...), stable for the table's life: the
 * detail columns keep one id per row instead of the pair. Open addressing, load at most 1/2.
 */
export class PairTable {
  count = 0;
  first = new Int32Array(64);
  second = new Int32Array(64);
  private slots = new Int32Array(128);

  /** The id of (`a`, `b`), added when new. */
  intern(a: number, b: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    let slot = pairHash(a, b) & mask;
    for (;;) {
      const stored = slots[slot]!;
      if (stored === 0) break;
      const id = stored - 1;
      if (this.first[id] === a && this.second[id] === b) return id;
      slot = (slot + 1) & mask;
    }
    const id = this.count;
    if (id >= 0x7fff_fffe) throw new StatisticsError("STATS_CAPACITY_EXCEEDED", "too many distinct detail tuples");
    if (id === this.first.length) {
      const first = new Int32Array(id * 2);
      first.set(this.first);
      this.first = first;
      const second = new Int32Array(id * 2);
      second.set(this.second);
      this.second = second;
    }
    this.first[id] = a;
    this.second[id] = b;
    this.count = id + 1;
    if (2 * this.count > slots.length) this.rehash();
    else slots[slot] = id + 1;
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.count; id++) {
      let slot = pairHash(this.first[id]!, this.second[id]!) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.slots = slots;
  }

  /** Bytes of the typed arrays. */
  get byteLength(): number {
    return this.first.byteLength + this.second.byteLength + this.slots.byteLength;
  }
}
