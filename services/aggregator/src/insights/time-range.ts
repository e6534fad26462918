/** The dashboard's time ranges: the Management Center's Usage page had the same four. */
export const RANGE_NAMES = ["7h", "24h", "7d", "all"] as const;

/** One of {@link RANGE_NAMES}. */
export type RangeName = (typeof RANGE_NAMES)[number];

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const QUARTER_HOUR_MS = 900_000;

/** Hours of each bounded range, the current hour included. */
const RANGE_HOURS: Readonly<Record<Exclude<RangeName, "all">, number>> = { "7h": 7, "24h": 24, "7d": 168 };

/**
 * The first hour (hours since the epoch, UTC) a range covers at `nowMs`, or undefined for `all`.
 * Ranges are whole hours: "7h" is the current hour and the 6 before it, and so on, so that every
 * card, chart and table of one range counts the same details. Details after `nowMs` (a node's
 * clock ahead) count in every range.
 */
export function rangeStartHour(range: RangeName, nowMs: number): number | undefined {
  if (range === "all") return undefined;
  return Math.floor(nowMs / HOUR_MS) - RANGE_HOURS[range] + 1;
}

/** True when `text` is a range name. */
export function isRangeName(text: unknown): text is RangeName {
  return typeof text === "string" && (RANGE_NAMES as readonly string[]).includes(text);
}
