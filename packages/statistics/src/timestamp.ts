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
