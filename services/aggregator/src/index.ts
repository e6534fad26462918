export { createAggregator } from "./aggregator";
export type { Aggregator, AggregatorOptions, AggregatorProgress } from "./aggregator";
export type { AggregatorEvent, RestoreReport } from "./partitions/partition-state";
export type { SnapshotFaults } from "./recovery/snapshot-scheduler";
export { ensureRecordTopics } from "./topics";
export { createPartitionRouter } from "./partitions/partition-routing";
