export type { Timestamp, Clock, SystemClockOptions } from "./timestamp";
export {
  ZERO_TIMESTAMP,
  ZERO_TIME_EPOCH_SECONDS,
  compareTimestamps,
  createSystemClock,
  dayKey,
  hour,
  isZeroTimestamp,
  timestampProblem,
  toUtc,
  validateTimestamp,
} from "./timestamp";
export { formatGoRfc3339Nano, formatRfc3339Nano, parseRfc3339 } from "./rfc3339";
export { STATISTICS_ERROR_CODES, StatisticsError, isStatisticsError } from "./errors";
export type { StatisticsErrorCode } from "./errors";
export type { TokenCounts, UsageRecord, UsageRecordExtra } from "./usage-record";
