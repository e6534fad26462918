import { formatDayNumber, SECONDS_PER_DAY } from "./civil-date";
import { StatisticsError } from "./errors";

/**
 * An instant with nanosecond precision and the UTC offset it was written in, as Go's `time.Time`
 * keeps it. A JS `Date` holds milliseconds only and never carries a record's time.
 */
export interface Timestamp {
  /** Whole seconds since 1970-01-01T00:00:00Z (a safe integer, may be negative). */
  readonly epochSeconds: number;
  /** Nanoseconds within the second, 0 to 999,999,999. */
  readonly nanos: number;
  /** The UTC offset of the original text, in seconds east of UTC (`+08:00` = 28800). */
  readonly offsetSeconds: number;
}

/**
 * A source of "now". Injected wherever the seed calls `time.Now()` (a record or detail without a
 * timestamp); never used for a record's own time.
 */
export type Clock = () => Timestamp;

/** `epochSeconds` of Go's zero time, 0001-01-01T00:00:00Z. */
export const ZERO_TIME_EPOCH_SECONDS = -62_135_596_800;

/** Go's zero `time.Time`, 0001-01-01T00:00:00Z. */
export const ZERO_TIMESTAMP: Timestamp = Object.freeze({
  epochSeconds: ZERO_TIME_EPOCH_SECONDS,
  nanos: 0,
  offsetSeconds: 0,
});

/** Smallest `epochSeconds + offsetSeconds` whose local year is 0000 (0000-01-01T00:00:00). */
const MIN_LOCAL_SECONDS = -62_167_219_200;
/** One past the largest `epochSeconds + offsetSeconds` whose local year is 9999 (10000-01-01T00:00:00). */
const END_LOCAL_SECONDS = 253_402_300_800;

/**
 * Go's `time.Time.IsZero`: the instant 0001-01-01T00:00:00Z, whatever the offset it is written in.
 */
export function isZeroTimestamp(ts: Timestamp): boolean {
  return ts.epochSeconds === ZERO_TIME_EPOCH_SECONDS && ts.nanos === 0;
}

/** The same instant in UTC (offset 0), as Go's `t.UTC()`. */
export function toUtc(ts: Timestamp): Timestamp {
  return { epochSeconds: ts.epochSeconds, nanos: ts.nanos, offsetSeconds: 0 };
}

/** Orders two timestamps by instant (the offset plays no part): negative, 0 or positive. */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.epochSeconds !== b.epochSeconds) return a.epochSeconds < b.epochSeconds ? -1 : 1;
  if (a.nanos !== b.nanos) return a.nanos < b.nanos ? -1 : 1;
  return 0;
}

/** Seconds since 1970-01-01T00:00:00 of the wall clock in the timestamp's own offset. */
function localSeconds(ts: Timestamp): number {
  return ts.epochSeconds + ts.offsetSeconds;
}

/** The day number (days since 1970-01-01) of the timestamp's wall clock in its own offset. */
function localDayNumber(ts: Timestamp): number {
  return Math.floor(localSeconds(ts) / SECONDS_PER_DAY);
}

/**
 * The seed's day bucket key, `YYYY-MM-DD`, of the timestamp in its OWN offset (Go's
 * `t.Format("2006-01-02")`): 2026-01-10T23:30:00-05:00 is day 2026-01-10, not 2026-01-11.
 */
export function dayKey(ts: Timestamp): string {
  return formatDayNumber(localDayNumber(ts));
}

/** The seed's hour bucket, 0..23, of the timestamp in its OWN offset (Go's `t.Hour()`). */
export function hour(ts: Timestamp): number {
  const local = localSeconds(ts);
  return Math.floor((local - Math.floor(local / SECONDS_PER_DAY) * SECONDS_PER_DAY) / 3600);
}

/**
 * Why `ts` cannot be stored, or `undefined` when it can. A storable timestamp has a safe-integer
 * `epochSeconds`, integer `nanos` in 0..999,999,999, an offset of whole minutes strictly within ±24h
 * (Go's JSON encoding refuses offsets of 24h or more, and prints minutes only, so an offset with
 * seconds would not survive a snapshot round trip), and a local year in 0000..9999 (Go's JSON
 * encoding refuses others).
 */
export function timestampProblem(ts: Timestamp): string | undefined {
  if (typeof ts !== "object" || ts === null) return "not a timestamp object";
  return timestampFieldsProblem(ts.epochSeconds, ts.nanos, ts.offsetSeconds);
}

/** {@link timestampProblem} of the three fields of a timestamp. */
export function timestampFieldsProblem(epochSeconds: number, nanos: number, offsetSeconds: number): string | undefined {
  if (!Number.isSafeInteger(epochSeconds)) return "epochSeconds is not a safe integer";
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) return "nanos is not an integer in 0..999999999";
  if (!Number.isInteger(offsetSeconds) || offsetSeconds % 60 !== 0) return "offsetSeconds is not a whole number of minutes";
  if (offsetSeconds <= -SECONDS_PER_DAY || offsetSeconds >= SECONDS_PER_DAY) return "offsetSeconds is not within ±24h";
  const local = epochSeconds + offsetSeconds;
  if (local < MIN_LOCAL_SECONDS || local >= END_LOCAL_SECONDS) return "year is outside 0000..9999";
  return undefined;
}

/**
 * Throws `STATS_INVALID_TIMESTAMP` unless `ts` is storable (see {@link timestampProblem}); returns it
 * with any `-0` normalised to `0`.
 */
export function validateTimestamp(ts: Timestamp): Timestamp {
  const problem = timestampProblem(ts);
  if (problem !== undefined) throw new StatisticsError("STATS_INVALID_TIMESTAMP", `invalid timestamp: ${problem}`);
  return { epochSeconds: ts.epochSeconds + 0, nanos: ts.nanos + 0, offsetSeconds: ts.offsetSeconds + 0 };
}

/** Options of {@link createSystemClock}. */
export interface SystemClockOptions {
  /** Offset of the returned timestamps, seconds east of UTC; default 0 (UTC). */
  readonly offsetSeconds?: number;
  /** Milliseconds since the epoch; default `Date.now`. */
  readonly nowMillis?: () => number;
}

/**
 * A clock reading `Date.now()` (millisecond resolution) that never repeats: a reading not later than
 * the previous one is moved 1 ns past it, so two records stamped by it never share a dedup key.
 */
export function createSystemClock(options: SystemClockOptions = {}): Clock {
  const offsetSeconds = options.offsetSeconds ?? 0;
  const nowMillis = options.nowMillis ?? (() => Date.now());
  let lastSeconds = Number.NEGATIVE_INFINITY;
  let lastNanos = 0;
  return () => {
    const millis = Math.floor(nowMillis());
    let epochSeconds = Math.floor(millis / 1000);
    let nanos = (millis - epochSeconds * 1000) * 1_000_000;
    if (epochSeconds < lastSeconds || (epochSeconds === lastSeconds && nanos <= lastNanos)) {
      epochSeconds = lastSeconds;
      nanos = lastNanos + 1;
      if (nanos === 1_000_000_000) {
        epochSeconds += 1;
        nanos = 0;
      }
    }
    lastSeconds = epochSeconds;
    lastNanos = nanos;
    return { epochSeconds, nanos, offsetSeconds };
  };
}
