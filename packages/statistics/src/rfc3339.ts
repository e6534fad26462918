import { civilFromDays, daysFromCivil, daysInMonth, formatYear, pad2, SECONDS_PER_DAY } from "./civil-date";
import { StatisticsError } from "./errors";
import { type Timestamp, timestampProblem } from "./timestamp";

/*
 * RFC 3339 text as Go reads and writes it for JSON: `time.Time.UnmarshalJSON` (a strict fast path,
 * then a fallback to the more lenient `time.Parse(time.RFC3339, ...)`) and `time.Time.MarshalJSON`
 * (`RFC3339Nano`).
 */

function isDigit(text: string, index: number): boolean {
  const c = text.charCodeAt(index);
  return c >= 48 && c <= 57;
}

/** The decimal value of `text[from, to)` when every character is a digit, else -1. */
function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

/** Go's `parseNanoseconds`: the fraction after the separator at `from`, truncated to 9 digits. */
function fractionNanos(text: string, from: number, to: number): number {
  const end = Math.min(to, from + 10);
  let nanos = digits(text, from + 1, end);
  for (let i = end - from; i < 10; i++) nanos *= 10;
  return nanos;
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number;
  offsetSeconds: number;
}

/** Go's `parseRFC3339` (the fast path of `UnmarshalJSON`). */
function parseStrict(text: string): Fields | undefined {
  if (text.length < 19) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  if (year < 0 || month < 1 || month > 12) return undefined;
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  if (day < 1 || day > daysInMonth(year, month) || hour < 0 || hour > 23) return undefined;
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  if (text[4] !== "-" || text[7] !== "-" || text[10] !== "T" || text[13] !== ":" || text[16] !== ":") return undefined;
  let at = 19;
  let nanos = 0;
  if (text.length - at >= 2 && text[at] === "." && isDigit(text, at + 1)) {
    let end = at + 2;
    while (end < text.length && isDigit(text, end)) end++;
    nanos = fractionNanos(text, at, end);
    at = end;
  }
  const rest = text.length - at;
  if (rest === 1 && text[at] === "Z") return { year, month, day, hour, minute, second, nanos, offsetSeconds: 0 };
  if (rest !== 6) return undefined;
  const offsetHours = digits(text, at + 1, at + 3);
  const offsetMinutes = digits(text, at + 4, at + 6);
  const sign = text[at];
  if (offsetHours < 0 || offsetHours > 23 || offsetMinutes < 0 || offsetMinutes > 59) return undefined;
  if ((sign !== "+" && sign !== "-") || text[at + 3] !== ":") return undefined;
  const offset = (offsetHours * 60 + offsetMinutes) * 60;
  return { year, month, day, hour, minute, second, nanos, offsetSeconds: sign === "-" && offset !== 0 ? -offset : offset };
}

/** Go's `getnum`: one or two digits (exactly two when `fixed`) at `at`; -1 when absent. */
function getnum(text: string, at: number, fixed: boolean): { value: number; next: number } | undefined {
  if (!isDigit(text, at)) return undefined;
  if (!isDigit(text, at + 1)) return fixed ? undefined : { value: text.charCodeAt(at) - 48, next: at + 1 };
  return { value: (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48, next: at + 2 };
}

/**
 * Go's `time.Parse(time.RFC3339, text)`, the fallback of `UnmarshalJSON`: it also takes a one-digit
 * hour, a `,` before the fraction, and offsets up to 24:60.
 */
function parseLenient(text: string): Fields | undefined {
  if (text.length < 4 || !isDigit(text, 0)) return undefined;
  const year = digits(text, 0, 4);
  if (year < 0 || text[4] !== "-") return undefined;
  const month = getnum(text, 5, true);
  if (month === undefined || month.value < 1 || month.value > 12 || text[month.next] !== "-") return undefined;
  const day = getnum(text, month.next + 1, true);
  if (day === undefined || text[day.next] !== "T") return undefined;
  const hour = getnum(text, day.next + 1, false);
  if (hour === undefined || hour.value > 23 || text[hour.next] !== ":") return undefined;
  const minute = getnum(text, hour.next + 1, true);
  if (minute === undefined || minute.value > 59 || text[minute.next] !== ":") return undefined;
  const second = getnum(text, minute.next + 1, true);
  if (second === undefined || second.value > 59) return undefined;
  let at = second.next;
  let nanos = 0;
  if (text.length - at >= 2 && (text[at] === "." || text[at] === ",") && isDigit(text, at + 1)) {
    let end = at + 2;
    while (end < text.length && isDigit(text, end)) end++;
    nanos = fractionNanos(text, at, end);
    at = end;
  }
  let offsetSeconds = 0;
  if (text[at] === "Z") {
    at += 1;
  } else {
    if (text.length - at < 6 || text[at + 3] !== ":") return undefined;
    const offsetHours = getnum(text, at + 1, true);
    const offsetMinutes = getnum(text, at + 4, true);
    const sign = text[at];
    if (offsetHours === undefined || offsetMinutes === undefined) return undefined;
    if (offsetHours.value > 24 || offsetMinutes.value > 60 || (sign !== "+" && sign !== "-")) return undefined;
    const offset = (offsetHours.value * 60 + offsetMinutes.value) * 60;
    offsetSeconds = sign === "-" && offset !== 0 ? -offset : offset;
    at += 6;
  }
  if (at !== text.length) return undefined;
  if (day.value < 1 || day.value > daysInMonth(year, month.value)) return undefined;
  return {
    year,
    month: month.value,
    day: day.value,
    hour: hour.value,
    minute: minute.value,
    second: second.value,
    nanos,
    offsetSeconds,
  };
}

function invalid(text: string, why: string): StatisticsError {
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return new StatisticsError("STATS_INVALID_TIMESTAMP", `invalid RFC 3339 timestamp ${JSON.stringify(shown)}: ${why}`);
}

/**
 * Parses RFC 3339 text exactly as Go's `time.Time.UnmarshalJSON` does (the JSON decoding of the
 * seed's `timestamp` fields): `YYYY-MM-DDTHH:MM:SS`, an optional fraction of any length (`.` or `,`,
 * truncated to nanoseconds), then `Z` or `±hh:mm`. Upper-case `T` and `Z` only; no spaces; year
 * 0000..9999; a one-digit hour is accepted as Go's fallback parser does.
 *
 * One deliberate difference: Go also accepts offsets of 24 hours or more (`+24:00`, `+23:60`) and
 * then fails to encode them to JSON ever after; they are refused here. Throws `STATS_INVALID_TIMESTAMP`.
 */
export function parseRfc3339(text: string): Timestamp {
  if (typeof text !== "string") throw invalid(String(text), "not a string");
  const fields = parseStrict(text) ?? parseLenient(text);
  if (fields === undefined) throw invalid(text, "not in the layout 2006-01-02T15:04:05.999999999Z07:00");
  if (fields.offsetSeconds <= -SECONDS_PER_DAY || fields.offsetSeconds >= SECONDS_PER_DAY) {
    throw invalid(text, "UTC offset of 24 hours or more");
  }
  const days = daysFromCivil(fields.year, fields.month, fields.day);
  const local = days * SECONDS_PER_DAY + fields.hour * 3600 + fields.minute * 60 + fields.second;
  return { epochSeconds: local - fields.offsetSeconds, nanos: fields.nanos, offsetSeconds: fields.offsetSeconds };
}

/** The fraction `.ddddddddd` with trailing zeros trimmed, or "" for 0 (Go's `.999999999`). */
function formatFraction(nanos: number): string {
  if (nanos === 0) return "";
  let text = String(nanos).padStart(9, "0");
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48) end--;
  text = text.slice(0, end);
  return `.${text}`;
}

/** Go's `Z07:00`: `Z` for offset 0, else `±hh:mm` of the offset truncated to minutes. */
function formatOffset(offsetSeconds: number): string {
  if (offsetSeconds === 0) return "Z";
  const zone = Math.trunc(offsetSeconds / 60);
  const sign = zone < 0 ? "-" : "+";
  const minutes = Math.abs(zone);
  return `${sign}${pad2(Math.floor(minutes / 60))}:${pad2(minutes % 60)}`;
}

/**
 * Formats any timestamp as Go's `t.Format(time.RFC3339Nano)`: no range checks (a UTC year below
 * 0000 prints as `-0001`). The seed's dedup key uses this on the UTC instant.
 */
export function formatGoRfc3339Nano(ts: Timestamp): string {
  const local = ts.epochSeconds + ts.offsetSeconds;
  const days = Math.floor(local / SECONDS_PER_DAY);
  const secondOfDay = local - days * SECONDS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const hours = Math.floor(secondOfDay / 3600);
  const minutes = Math.floor((secondOfDay % 3600) / 60);
  const seconds = secondOfDay % 60;
  return (
    `${formatYear(year)}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}` +
    `${formatFraction(ts.nanos)}${formatOffset(ts.offsetSeconds)}`
  );
}

/**
 * Formats a timestamp exactly as Go's JSON encoding of a `time.Time` writes it (RFC3339Nano in the
 * timestamp's own offset): fraction trailing zeros trimmed (none when 0), `Z` for offset 0, else
 * `±hh:mm`. E.g. `2026-01-10T14:46:59.12345+08:00`. Throws `STATS_INVALID_TIMESTAMP` for a timestamp
 * that cannot be stored (see `timestampProblem`: year outside 0000..9999, offset not whole minutes
 * within ±24h, bad nanos).
 */
export function formatRfc3339Nano(ts: Timestamp): string {
  const problem = timestampProblem(ts);
  if (problem !== undefined) throw new StatisticsError("STATS_INVALID_TIMESTAMP", `cannot format timestamp: ${problem}`);
  return formatGoRfc3339Nano(ts);
}
