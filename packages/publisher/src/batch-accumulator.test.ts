import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BatchAccumulator } from "./batch-accumulator";
import type { Batch, BatchLimits } from "./batch-accumulator";

/** Takes every batch that is ready now. */
function takeAll<T>(accumulator: BatchAccumulator<T>, urgent = false): T[][] {
  const batches: T[][] = [];
  for (let batch = accumulator.take(urgent); batch !== undefined; batch = accumulator.take(urgent)) batches.push([...batch.items]);
  return batches;
}

describe("BatchAccumulator", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("closes a batch when it reaches maxRecords", () => {
    let ready = 0;
    const accumulator = new BatchAccumulator<number>({ maxRecords: 3, maxBytes: 1_000, lingerMs: 50 }, () => (ready += 1));
    for (let item = 0; item < 7; item += 1) accumulator.add(item, 10);
    expect(ready).toBe(2);
    expect(takeAll(accumulator)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(accumulator.size).toBe(1);
    expect(accumulator.hasReady(false)).toBe(false);
  });

  it("closes a batch before an item that would take it over maxBytes; a bigger item travels alone", () => {
    const accumulator = new BatchAccumulator<string>({ maxRecords: 100, maxBytes: 100, lingerMs: 50 }, () => undefined);
    accumulator.add("a", 40);
    accumulator.add("b", 40);
    accumulator.add("c", 40); // 120 > 100: [a, b] closes first
    accumulator.add("huge", 500);
    accumulator.add("d", 60);
    accumulator.add("e", 40); // exactly 100: closes
    const batches: Array<Batch<string>> = [];
    for (let batch = accumulator.take(false); batch !== undefined; batch = accumulator.take(false)) batches.push(batch);
    expect(batches.map((batch) => [batch.items, batch.bytes])).toEqual([
      [["a", "b"], 80],
      [["c"], 40],
      [["huge"], 500],
      [["d", "e"], 100],
    ]);
  });

  it("makes a batch that is not full ready lingerMs after its first item, not before", () => {
    let ready = 0;
    const accumulator = new BatchAccumulator<number>({ maxRecords: 100, maxBytes: 1_000, lingerMs: 50 }, () => (ready += 1));
    accumulator.add(1, 10);
    vi.advanceTimersByTime(30);
    accumulator.add(2, 10);
    vi.advanceTimersByTime(19);
    expect([ready, accumulator.hasReady(false), accumulator.take(false)]).toEqual([0, false, undefined]);
    vi.advanceTimersByTime(1);
    expect(ready).toBe(1);
    expect(takeAll(accumulator)).toEqual([[1, 2]]);
    // The next batch has its own linger time.
    accumulator.add(3, 10);
    vi.advanceTimersByTime(49);
    expect(accumulator.hasReady(false)).toBe(false);
    vi.advanceTimersByTime(1);
    expect(takeAll(accumulator)).toEqual([[3]]);
    expect(ready).toBe(2);
  });

  it("gives the open batch at once when the caller is urgent (flush, close, callers waiting for space)", () => {
    const accumulator = new BatchAccumulator<number>({ maxRecords: 100, maxBytes: 1_000, lingerMs: 60_000 }, () => undefined);
    accumulator.add(1, 10);
    accumulator.add(2, 10);
    expect(accumulator.take(false)).toBeUndefined();
    expect(accumulator.take(true)?.items).toEqual([1, 2]);
    expect(accumulator.take(true)).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("take(urgent, maxBytes) gives the next ready batch only when it fits, so ready batches can share one request", () => {
    const accumulator = new BatchAccumulator<number>({ maxRecords: 2, maxBytes: 1_000, lingerMs: 60_000 }, () => undefined);
    for (let item = 0; item < 5; item += 1) accumulator.add(item, 100);
    // Two closed batches of 200 bytes, and [4] open (not lingered).
    expect(accumulator.take(false, 199)).toBeUndefined();
    expect(accumulator.take(false, 200)?.items).toEqual([0, 1]);
    expect(accumulator.take(false, 500)?.items).toEqual([2, 3]);
    expect(accumulator.take(false, 500)).toBeUndefined();
    expect(accumulator.take(true, 99)).toBeUndefined();
    expect(accumulator.take(true, 100)?.items).toEqual([4]);
  });

  it("with lingerMs 0 a batch is ready as soon as it has an item", () => {
    let ready = 0;
    const accumulator = new BatchAccumulator<number>({ maxRecords: 100, maxBytes: 1_000, lingerMs: 0 }, () => (ready += 1));
    accumulator.add(1, 10);
    expect(ready).toBe(1);
    accumulator.add(2, 10);
    expect(takeAll(accumulator)).toEqual([[1, 2]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("drains every item in order and stops its timer", () => {
    const accumulator = new BatchAccumulator<number>({ maxRecords: 2, maxBytes: 1_000, lingerMs: 50 }, () => undefined);
    for (let item = 0; item < 5; item += 1) accumulator.add(item, 1);
    expect(accumulator.drain()).toEqual([0, 1, 2, 3, 4]);
    expect([accumulator.size, accumulator.take(true), vi.getTimerCount()]).toEqual([0, undefined, 0]);
    accumulator.add(9, 1);
    accumulator.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("keeps arrival order and the limits for any sizes, limits and take pattern", () => {
    fc.assert(
      fc.property(
        fc.record({
          maxRecords: fc.integer({ min: 1, max: 20 }),
          maxBytes: fc.integer({ min: 1, max: 500 }),
          lingerMs: fc.constantFrom(0, 5),
        }),
        fc.array(fc.record({ bytes: fc.integer({ min: 1, max: 200 }), takeAfter: fc.boolean(), urgent: fc.boolean() }), { maxLength: 300 }),
        (limits: BatchLimits, steps) => {
          const accumulator = new BatchAccumulator<number>(limits, () => undefined);
          const sizes = steps.map((step) => step.bytes);
          const batches: number[][] = [];
          steps.forEach((step, index) => {
            accumulator.add(index, step.bytes);
            if (step.takeAfter) batches.push(...takeAll(accumulator, step.urgent));
          });
          batches.push(...takeAll(accumulator, true));
          expect(accumulator.size).toBe(0);
          expect(batches.flat()).toEqual(steps.map((_, index) => index));
          for (const batch of batches) {
            const bytes = batch.reduce((sum, index) => sum + (sizes[index] ?? 0), 0);
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length).toBeLessThanOrEqual(limits.maxRecords);
            if (batch.length > 1) expect(bytes).toBeLessThanOrEqual(limits.maxBytes);
          }
          accumulator.dispose();
        },
      ),
    );
  });
});
