export { createAggregator } from "./aggregator";
/** The main command's settings table (its defaults are the production ones). */
export { SETTINGS as AGGREGATOR_SETTINGS } from "./config";
export type { Aggregator, AggregatorOptions, AggregatorProgress } from "./aggregator";
export type { AggregatorEvent, RestoreReport } from "./partitions/partition-state";
export type { SnapshotFaults } from "./recovery/snapshot-scheduler";
export { ensureRecordTopics } from "./topics";
export { createPartitionRouter } from "./partitions/partition-routing";
export { buildApp } from "./http/app";
export { createWebDashboard } from "./insights/web-dashboard";
