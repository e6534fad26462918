import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isStatisticsError } from "./errors";
import { formatGoRfc3339Nano, formatRfc3339Nano, parseRfc3339 } from "./rfc3339";
import {
  compareTimestamps,
  createSystemClock,
  dayKey,
  hour,
  isZeroTimestamp,
  type Timestamp,
  toUtc,
  validateTimestamp,
  ZERO_TIMESTAMP,
} from "./timestamp";

function expectCode(run: () => unknown, code: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(isStatisticsError(caught) ? caught.code : caught).toBe(code);
}

describe("parseRfc3339 (Go's time.Time.UnmarshalJSON)", () => {
  it.each([
    ["2026-01-10T14:46:59.123456789+08:00", { epochSeconds: 1768027619, nanos: 123456789, offsetSeconds: 28800 }],
    ["2026-01-10T14:46:59.120Z", { epochSeconds: 1768056419, nanos: 120000000, offsetSeconds: 0 }],
    ["2026-01-10T14:46:59Z", { epochSeconds: 1768056419, nanos: 0, offsetSeconds: 0 }],
    ["0001-01-01T00:00:00Z", { epochSeconds: -62135596800, nanos: 0, offsetSeconds: 0 }],
    ["0000-01-01T00:00:00+01:00", { epochSeconds: -62167222800, nanos: 0, offsetSeconds: 3600 }],
    ["2024-02-29T00:00:00Z", { epochSeconds: 1709164800, nanos: 0, offsetSeconds: 0 }],
    // Go's fallback parser: a one-digit hour, a comma before the fraction, "-00:00", minutes up to 60.
    ["2026-01-10T1:04:05Z", { epochSeconds: 1768007045, nanos: 0, offsetSeconds: 0 }],
    ["2026-01-10T14:46:59,5-05:30", { epochSeconds: 1768076219, nanos: 500000000, offsetSeconds: -19800 }],
    ["2026-01-10T14:46:59-00:00", { epochSeconds: 1768056419, nanos: 0, offsetSeconds: 0 }],
    ["2026-01-10T14:46:59+00:60", { epochSeconds: 1768052819, nanos: 0, offsetSeconds: 3600 }],
    // More than nine fraction digits are truncated, not rounded.
    ["9999-12-31T23:59:59.9999999999-23:59", { epochSeconds: 253402387139, nanos: 999999999, offsetSeconds: -86340 }],
    ["2026-01-10T14:46:59.1Z", { epochSeconds: 1768056419, nanos: 100000000, offsetSeconds: 0 }],
  ])("parses %s", (text, expected) => {
    expect(parseRfc3339(text)).toEqual(expected);
  });

  it.each([
    "2023-02-29T00:00:00Z",
    "2026-01-10t14:46:59Z",
    "2026-01-10T14:46:59z",
    "2026-01-10T24:00:00Z",
    "2026-01-10T14:60:00Z",
    "2026-01-10T14:46:60Z",
    "2026-01-10T14:46:59.Z",
    " 2026-01-10T14:46:59Z",
    "2026-01-10T14:46:59Z ",
    "2026-01-10T14:46:59",
    "2026-01-10 14:46:59Z",
    "2026-1-10T14:46:59Z",
    "10000-01-01T00:00:00Z",
    "-001-01-01T00:00:00Z",
    "2026-01-10T14:46:59+0800",
    "2026-01-10T14:46:59+08",
    "2026-01-10T14:46:59+25:00",
    // Go parses these but can never encode them to JSON again: refused here (documented).
    "2026-01-10T14:46:59+24:00",
    "2026-01-10T14:46:59-23:60",
    "",
  ])("refuses %j with STATS_INVALID_TIMESTAMP", (text) => {
    expectCode(() => parseRfc3339(text), "STATS_INVALID_TIMESTAMP");
  });
});

describe("formatRfc3339Nano (Go's RFC3339Nano / MarshalJSON)", () => {
  it.each([
    [{ epochSeconds: 1768027619, nanos: 123456789, offsetSeconds: 28800 }, "2026-01-10T14:46:59.123456789+08:00"],
    [{ epochSeconds: 1768027619, nanos: 123456780, offsetSeconds: 28800 }, "2026-01-10T14:46:59.12345678+08:00"],
    [{ epochSeconds: 1768027619, nanos: 100000000, offsetSeconds: 0 }, "2026-01-10T06:46:59.1Z"],
    [{ epochSeconds: 1768027619, nanos: 1, offsetSeconds: 0 }, "2026-01-10T06:46:59.000000001Z"],
    [{ epochSeconds: 1768027619, nanos: 0, offsetSeconds: -19800 }, "2026-01-10T01:16:59-05:30"],
    [{ epochSeconds: -62135596800, nanos: 0, offsetSeconds: 0 }, "0001-01-01T00:00:00Z"],
    [{ epochSeconds: -1, nanos: 999999999, offsetSeconds: 0 }, "1969-12-31T23:59:59.999999999Z"],
    [{ epochSeconds: 253402387139, nanos: 999999999, offsetSeconds: -86340 }, "9999-12-31T23:59:59.999999999-23:59"],
  ])("formats %j as %s", (ts, text) => {
    expect(formatRfc3339Nano(ts)).toBe(text);
  });

  it("formats any year as Go's Format does (the dedup key's UTC text)", () => {
    expect(formatGoRfc3339Nano(toUtc(parseRfc3339("0000-01-01T00:00:00+01:00")))).toBe("-0001-12-31T23:00:00Z");
    expect(formatGoRfc3339Nano(toUtc(parseRfc3339("9999-12-31T23:30:00-01:00")))).toBe("10000-01-01T00:30:00Z");
    // Go truncates an offset with seconds to minutes and prints "+00:00" (not "Z") for -30 s.
    expect(formatGoRfc3339Nano({ epochSeconds: 0, nanos: 0, offsetSeconds: -30 })).toBe("1969-12-31T23:59:30+00:00");
  });

  it.each([
    [{ epochSeconds: -62167219201, nanos: 0, offsetSeconds: 0 }, "year below 0000"],
    [{ epochSeconds: 253402300800, nanos: 0, offsetSeconds: 0 }, "year above 9999"],
    [{ epochSeconds: 0, nanos: 1_000_000_000, offsetSeconds: 0 }, "nanos too large"],
    [{ epochSeconds: 0, nanos: -1, offsetSeconds: 0 }, "negative nanos"],
    [{ epochSeconds: 0.5, nanos: 0, offsetSeconds: 0 }, "fractional seconds"],
    [{ epochSeconds: 0, nanos: 0, offsetSeconds: 86400 }, "offset of 24h"],
    [{ epochSeconds: 0, nanos: 0, offsetSeconds: 30 }, "offset with seconds"],
  ])("refuses %j (%s)", (ts) => {
    expectCode(() => formatRfc3339Nano(ts), "STATS_INVALID_TIMESTAMP");
    expectCode(() => validateTimestamp(ts), "STATS_INVALID_TIMESTAMP");
  });

  const storable = fc.record({
    epochSeconds: fc.integer({ min: -62_167_219_200 + 86_400, max: 253_402_300_799 - 86_400 }),
    nanos: fc.integer({ min: 0, max: 999_999_999 }),
    offsetSeconds: fc.integer({ min: -1439, max: 1439 }).map((minutes) => minutes * 60),
  });

  it("round-trips every storable timestamp through text exactly", () => {
    fc.assert(
      fc.property(storable, (ts) => {
        const back = parseRfc3339(formatRfc3339Nano(ts));
        expect(back).toEqual({ epochSeconds: ts.epochSeconds, nanos: ts.nanos, offsetSeconds: ts.offsetSeconds + 0 });
      }),
      { numRuns: 2000 },
    );
  });

  it("orders text of UTC timestamps with equal fraction length as compareTimestamps orders instants", () => {
    fc.assert(
      fc.property(storable, storable, (a, b) => {
        const order = compareTimestamps(a, b);
        expect(Math.sign(order)).toBe(Math.sign(compareTimestamps(b, a)) * -1);
        if (order === 0) expect(formatRfc3339Nano(toUtc(a))).toBe(formatRfc3339Nano(toUtc(b)));
        else expect(formatRfc3339Nano(toUtc(a))).not.toBe(formatRfc3339Nano(toUtc(b)));
      }),
    );
  });
});

describe("day and hour keys in the timestamp's own offset", () => {
  it.each([
    ["2026-01-10T23:30:00-05:00", "2026-01-10", 23],
    ["2026-01-11T04:30:00Z", "2026-01-11", 4],
    ["2026-01-11T00:15:00+08:00", "2026-01-11", 0],
    ["2026-01-10T16:15:00Z", "2026-01-10", 16],
    ["2026-03-01T00:00:00.000000001+14:00", "2026-03-01", 0],
    ["2024-02-29T23:59:59.999999999-12:00", "2024-02-29", 23],
    ["1969-12-31T23:59:59Z", "1969-12-31", 23],
    ["0000-01-01T00:00:00+01:00", "0000-01-01", 0],
  ])("%s is day %s hour %i", (text, day, hourOfDay) => {
    const ts = parseRfc3339(text);
    expect(dayKey(ts)).toBe(day);
    expect(hour(ts)).toBe(hourOfDay);
  });
});

describe("zero time, UTC and ordering", () => {
  it("knows Go's zero time in any offset", () => {
    expect(isZeroTimestamp(ZERO_TIMESTAMP)).toBe(true);
    expect(isZeroTimestamp(parseRfc3339("0001-01-01T00:00:00Z"))).toBe(true);
    expect(isZeroTimestamp(parseRfc3339("0001-01-01T08:00:00+08:00"))).toBe(true);
    expect(isZeroTimestamp(parseRfc3339("0001-01-01T00:00:00.000000001Z"))).toBe(false);
    expect(isZeroTimestamp(parseRfc3339("0001-01-01T00:00:00+08:00"))).toBe(false);
  });

  it("converts to UTC keeping the instant", () => {
    const ts = parseRfc3339("2026-01-10T00:30:00.5+08:00");
    expect(toUtc(ts)).toEqual({ epochSeconds: ts.epochSeconds, nanos: 500000000, offsetSeconds: 0 });
    expect(formatRfc3339Nano(toUtc(ts))).toBe("2026-01-09T16:30:00.5Z");
  });

  it("compares by instant, not by offset", () => {
    const a = parseRfc3339("2026-01-10T08:00:00+08:00");
    const b = parseRfc3339("2026-01-10T00:00:00Z");
    const c = parseRfc3339("2026-01-10T00:00:00.000000001Z");
    expect(compareTimestamps(a, b)).toBe(0);
    expect(compareTimestamps(b, c)).toBe(-1);
    expect(compareTimestamps(c, a)).toBe(1);
  });
});

describe("createSystemClock", () => {
  it("never repeats a reading, even within one millisecond or when the wall clock steps back", () => {
    const millis = [1000, 1000, 1000, 999, 2000];
    let at = 0;
    const clock = createSystemClock({ nowMillis: () => millis[at++] ?? 0, offsetSeconds: 3600 });
    const readings: Timestamp[] = millis.map(() => clock());
    expect(readings).toEqual([
      { epochSeconds: 1, nanos: 0, offsetSeconds: 3600 },
      { epochSeconds: 1, nanos: 1, offsetSeconds: 3600 },
      { epochSeconds: 1, nanos: 2, offsetSeconds: 3600 },
      { epochSeconds: 1, nanos: 3, offsetSeconds: 3600 },
      { epochSeconds: 2, nanos: 0, offsetSeconds: 3600 },
    ]);
  });
});
