export { AGGREGATOR_ERROR_CODES, AggregatorError, createAggregator } from "./aggregator";
export type {
  Aggregator,
  AggregatorErrorCode,
  AggregatorOptions,
  AggregatorProgress,
  PartitionReadiness,
} from "./aggregator";
export type { AggregatorEvent, RestoreReport } from "./partition-state";
export type { PartitionPhase } from "./partition-ownership";
export type { ImportResult } from "./import";
export type { SnapshotFaults } from "./recovery/snapshot-scheduler";
export { DLQ_HEADERS } from "./ingest/dead-letter";
export { METRIC_NAMES, createAggregatorMetrics } from "./metrics";
export type { AggregatorMetrics } from "./metrics";
export { DEFAULT_MAX_MESSAGE_BYTES, RECORDS_RETENTION_MS, ensureRecordTopics } from "./topics";
export type { EnsureRecordTopicsOptions, RecordTopicsInfo } from "./topics";
export { createPartitionRouter } from "./partition-routing";
export { kafkaLogCreator, kafkaLogLevelFor } from "./logging";
