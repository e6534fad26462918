export type { Timestamp } from "./timestamp";
export type { TokenCounts, UsageRecord, UsageRecordExtra } from "./usage-record";
