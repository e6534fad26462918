import type { Clock, Timestamp } from "@usage-ledger/statistics";

/** Options of {@link createMonotonicClock}. */
export interface MonotonicClockOptions {
  /** A monotonic nanosecond counter with an arbitrary origin; default `process.hrtime.bigint`. */
  readonly hrtime?: () => bigint;
  /** Wall-clock milliseconds since the Unix epoch, read when anchoring; default `Date.now`. */
  readonly nowMillis?: () => number;
  /**
   * UTC offset of the timestamps, seconds east of UTC (whole minutes, within ±24 h); default 0:
   * timestamps are stamped in UTC, so their day and hour buckets are UTC days and hours.
   */
  readonly offsetSeconds?: number;
  /**
   * Re-read the wall clock after this many milliseconds of `hrtime`, so that a long-running
   * process follows NTP corrections instead of drifting with the monotonic counter; default 60,000.
   */
  readonly reanchorMs?: number;
}

const NANOS_PER_SECOND = 1_000_000_000n;
const NANOS_PER_MILLI = 1_000_000n;

/**
 * A clock whose readings STRICTLY increase: `process.hrtime.bigint()` (nanosecond resolution,
 * never goes back) anchored to `Date.now()`, and a reading that is not later than the previous one
 * (a coarse counter, or a re-anchor to a wall clock that was set back) is moved 1 ns past it.
 * Two records stamped by one such clock therefore never share a timestamp, so they never share
 * the statistics' dedup key.
 */
export function createMonotonicClock(options: MonotonicClockOptions = {}): Clock {
  const hrtime = options.hrtime ?? (() => process.hrtime.bigint());
  const nowMillis = options.nowMillis ?? (() => Date.now());
  const offsetSeconds = options.offsetSeconds ?? 0;
  if (!Number.isInteger(offsetSeconds) || offsetSeconds % 60 !== 0 || Math.abs(offsetSeconds) >= 86_400) {
    throw new RangeError(`offsetSeconds must be whole minutes within ±24h, got ${String(offsetSeconds)}`);
  }
  const reanchorNanos = BigInt(Math.max(1, Math.floor(options.reanchorMs ?? 60_000))) * NANOS_PER_MILLI;
  let anchorWall = 0n;
  let anchorHr = 0n;
  const anchor = (hr: bigint): void => {
    anchorWall = BigInt(Math.floor(nowMillis())) * NANOS_PER_MILLI;
    anchorHr = hr;
  };
  anchor(hrtime());
  let last = -1n << 100n;
  return (): Timestamp => {
    const hr = hrtime();
    if (hr - anchorHr >= reanchorNanos) anchor(hr);
    let nanos = anchorWall + (hr - anchorHr);
    if (nanos <= last) nanos = last + 1n;
    last = nanos;
    return fromEpochNanos(nanos, offsetSeconds);
  };
}

/** A timestamp from nanoseconds since the Unix epoch. */
export function fromEpochNanos(epochNanos: bigint, offsetSeconds = 0): Timestamp {
  let seconds = epochNanos / NANOS_PER_SECOND;
  let nanos = epochNanos % NANOS_PER_SECOND;
  if (nanos < 0n) {
    seconds -= 1n;
    nanos += NANOS_PER_SECOND;
  }
  return { epochSeconds: Number(seconds), nanos: Number(nanos), offsetSeconds };
}

/** Nanoseconds since the Unix epoch of a timestamp (its offset plays no part). */
export function toEpochNanos(ts: Timestamp): bigint {
  return BigInt(ts.epochSeconds) * NANOS_PER_SECOND + BigInt(ts.nanos);
}

let shared: Clock | undefined;

/**
 * The process-wide clock (UTC) every publisher stamps with unless given another: one clock for
 * all publishers of the process, so their timestamps strictly increase across publishers too.
 */
export const processClock: Clock = () => {
  shared ??= createMonotonicClock();
  return shared();
};
