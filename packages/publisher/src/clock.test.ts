import { compareTimestamps, formatRfc3339Nano } from "@usage-ledger/statistics";
import type { Timestamp } from "@usage-ledger/statistics";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createMonotonicClock, fromEpochNanos, processClock, toEpochNanos } from "./clock";

/** The readings that are not strictly later than the one before them. */
function notIncreasing(readings: readonly Timestamp[]): Timestamp[] {
  return readings.filter((reading, index) => index > 0 && compareTimestamps(readings[index - 1] ?? reading, reading) >= 0);
}

describe("createMonotonicClock", () => {
  it("anchors the nanosecond counter to the wall clock", () => {
    let hr = 5_000_000_000n;
    const clock = createMonotonicClock({ hrtime: () => hr, nowMillis: () => 1_768_027_619_123 });
    expect(clock()).toEqual({ epochSeconds: 1_768_027_619, nanos: 123_000_000, offsetSeconds: 0 });
    hr += 456_789n;
    expect(formatRfc3339Nano(clock())).toBe("2026-01-10T06:46:59.123456789Z");
    hr += 876_543_211n;
    expect(clock()).toEqual({ epochSeconds: 1_768_027_620, nanos: 0, offsetSeconds: 0 });
  });

  it("moves a reading that is not later than the last one 1 ns past it", () => {
    const hr = 42n;
    const clock = createMonotonicClock({ hrtime: () => hr, nowMillis: () => 1_000 });
    const readings = [clock(), clock(), clock()];
    expect(readings.map((reading) => toEpochNanos(reading))).toEqual([1_000_000_000n, 1_000_000_001n, 1_000_000_002n]);
  });

  it("stays strictly increasing when a re-anchor finds the wall clock set back", () => {
    let hr = 0n;
    let wall = 2_000_000;
    const clock = createMonotonicClock({ hrtime: () => hr, nowMillis: () => wall, reanchorMs: 10 });
    const before = clock();
    hr += 20_000_000n;
    wall -= 60_000; // NTP steps the clock back a minute
    const after = [clock(), clock()];
    expect(notIncreasing([before, ...after])).toEqual([]);
    hr += 20_000_000n;
    wall += 120_000;
    const caughtUp = clock();
    expect(toEpochNanos(caughtUp)).toBe(BigInt(wall) * 1_000_000n);
  });

  it("is strictly increasing for any sequence of counter and wall-clock readings", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ step: fc.bigInt({ min: 0n, max: 5_000_000n }), wallJump: fc.integer({ min: -5_000, max: 5_000 }) }), {
          maxLength: 200,
        }),
        (steps) => {
          let hr = 0n;
          let wall = 1_700_000_000_000;
          const clock = createMonotonicClock({ hrtime: () => hr, nowMillis: () => wall, reanchorMs: 1 });
          const readings = [clock()];
          for (const { step, wallJump } of steps) {
            hr += step;
            wall += wallJump;
            readings.push(clock());
          }
          expect(notIncreasing(readings)).toEqual([]);
          expect(readings.every((reading) => reading.nanos >= 0 && reading.nanos < 1_000_000_000)).toBe(true);
        },
      ),
    );
  });

  it("stamps the configured UTC offset and refuses offsets Go's RFC 3339 cannot hold", () => {
    const clock = createMonotonicClock({ hrtime: () => 0n, nowMillis: () => 0, offsetSeconds: 8 * 3600 });
    expect(formatRfc3339Nano(clock())).toBe("1970-01-01T08:00:00+08:00");
    expect(() => createMonotonicClock({ offsetSeconds: 30 })).toThrow(RangeError);
    expect(() => createMonotonicClock({ offsetSeconds: 86_400 })).toThrow(RangeError);
  });

  it("reads the real process.hrtime and Date.now by default", () => {
    const clock = createMonotonicClock();
    const readings = Array.from({ length: 10_000 }, () => clock());
    expect(notIncreasing(readings)).toEqual([]);
    const wallNanos = BigInt(Date.now()) * 1_000_000n;
    const first = toEpochNanos(readings[0] ?? fromEpochNanos(0n));
    // Anchored to the wall clock: within a minute of it (a sanity bound, not a speed check).
    expect(first > wallNanos - 60_000_000_000n && first <= wallNanos + 60_000_000_000n).toBe(true);
  });

  it("processClock is one clock for the whole process", () => {
    const readings = Array.from({ length: 1_000 }, () => processClock());
    expect(notIncreasing(readings)).toEqual([]);
    expect(readings.every((reading) => reading.offsetSeconds === 0)).toBe(true);
  });
});

describe("epoch nanoseconds", () => {
  it("converts both ways, before and after 1970", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -62_135_596_800_000_000_000n, max: 253_402_300_799_999_999_999n }), (nanos) => {
        const ts = fromEpochNanos(nanos);
        expect(ts.nanos >= 0 && ts.nanos < 1_000_000_000).toBe(true);
        expect(toEpochNanos(ts)).toBe(nanos);
      }),
    );
    expect(fromEpochNanos(-1n)).toEqual({ epochSeconds: -1, nanos: 999_999_999, offsetSeconds: 0 });
  });
});
