import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Metric } from "prom-client";

/**
 * The aggregator's Prometheus metrics (prom-client). Names, all prefixed `usage_ledger_`:
 *
 * | name | type | labels | meaning |
 * |---|---|---|---|
 * | `usage_ledger_records_applied_total` | counter | – | records (and imported details) added to the statistics |
 * | `usage_ledger_duplicates_skipped_total` | counter | – | records (and imported details) skipped as duplicates (same dedup key) |
 * | `usage_ledger_records_ignored_total` | counter | – | records the seed's merge ignores (blank API name) |
 * | `usage_ledger_dlq_records_total` | counter | `reason` | records sent to the dead-letter topic, by reason code |
 * | `usage_ledger_import_batches_total` | counter | – | import batches (detail chunks) consumed from the records topic |
 * | `usage_ledger_consumer_lag` | gauge | `partition` | high watermark minus the next offset to apply, per owned partition |
 * | `usage_ledger_owned_partitions` | gauge | `state` | owned partitions by state (`restoring`, `live`) |
 * | `usage_ledger_snapshot_duration_seconds` | histogram | `kind` | time to write one snapshot generation (`full`, `incremental`) |
 * | `usage_ledger_snapshot_bytes_total` | counter | `kind` | bytes written to the snapshot topic |
 * | `usage_ledger_snapshots_total` | counter | `kind` | snapshot generations written |
 * | `usage_ledger_restore_duration_seconds` | histogram | – | time to restore one partition's newest complete generation |
 * | `usage_ledger_restore_bytes_total` | counter | – | snapshot bytes read while restoring |
 * | `usage_ledger_restores_total` | counter | `result` | partition restores (`snapshot` = from a generation, `empty` = none found) |
 * | `usage_ledger_replayed_records_total` | counter | – | records replayed after a restore (offsets between the resume offset and the end at restore time) |
 */
export interface AggregatorMetrics {
  readonly registry: Registry;
  readonly recordsApplied: Counter;
  readonly duplicatesSkipped: Counter;
  readonly recordsIgnored: Counter;
  readonly dlqRecords: Counter<"reason">;
  readonly importBatches: Counter;
  readonly consumerLag: Gauge<"partition">;
  readonly ownedPartitions: Gauge<"state">;
  readonly snapshotDuration: Histogram<"kind">;
  readonly snapshotBytes: Counter<"kind">;
  readonly snapshots: Counter<"kind">;
  readonly restoreDuration: Histogram;
  readonly restoreBytes: Counter;
  readonly restores: Counter<"result">;
  readonly replayedRecords: Counter;
}

/** Every metric name of {@link AggregatorMetrics}. */
export const METRIC_NAMES = [
  "usage_ledger_records_applied_total",
  "usage_ledger_duplicates_skipped_total",
  "usage_ledger_records_ignored_total",
  "usage_ledger_dlq_records_total",
  "usage_ledger_import_batches_total",
  "usage_ledger_consumer_lag",
  "usage_ledger_owned_partitions",
  "usage_ledger_snapshot_duration_seconds",
  "usage_ledger_snapshot_bytes_total",
  "usage_ledger_snapshots_total",
  "usage_ledger_restore_duration_seconds",
  "usage_ledger_restore_bytes_total",
  "usage_ledger_restores_total",
  "usage_ledger_replayed_records_total",
] as const;

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Registers the aggregator's metrics in `registry` (a new one when none is given). A metric that is
 * already registered under the same name is reused, so two aggregators given one registry share it.
 */
export function createAggregatorMetrics(registry: Registry = new Registry()): AggregatorMetrics {
  const reuse = <T extends Metric>(name: string, create: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? create();
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> =>
    reuse(name, () => new Counter<L>({ name, help, labelNames, registers }));
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    reuse(name, () => new Gauge<L>({ name, help, labelNames, registers }));
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[] = []): Histogram<L> =>
    reuse(name, () => new Histogram<L>({ name, help, labelNames, buckets: DURATION_BUCKETS, registers }));
  return {
    registry,
    recordsApplied: counter("usage_ledger_records_applied_total", "Records and imported details added to the statistics."),
    duplicatesSkipped: counter(
      "usage_ledger_duplicates_skipped_total",
      "Records and imported details skipped as duplicates of a detail already held (same dedup key).",
    ),
    recordsIgnored: counter("usage_ledger_records_ignored_total", "Records the seed's merge ignores (blank API name)."),
    dlqRecords: counter("usage_ledger_dlq_records_total", "Records sent to the dead-letter topic, by reason code.", ["reason"]),
    importBatches: counter("usage_ledger_import_batches_total", "Import batches (detail chunks) consumed from the records topic."),
    consumerLag: gauge("usage_ledger_consumer_lag", "High watermark minus the next offset to apply, per owned partition.", ["partition"]),
    ownedPartitions: gauge("usage_ledger_owned_partitions", "Owned partitions of the records topic by state.", ["state"]),
    snapshotDuration: histogram("usage_ledger_snapshot_duration_seconds", "Time to write one snapshot generation.", ["kind"]),
    snapshotBytes: counter("usage_ledger_snapshot_bytes_total", "Bytes written to the snapshot topic.", ["kind"]),
    snapshots: counter("usage_ledger_snapshots_total", "Snapshot generations written.", ["kind"]),
    restoreDuration: histogram("usage_ledger_restore_duration_seconds", "Time to restore one partition's newest complete generation."),
    restoreBytes: counter("usage_ledger_restore_bytes_total", "Snapshot bytes read while restoring partitions."),
    restores: counter("usage_ledger_restores_total", "Partition restores, by result (snapshot or empty).", ["result"]),
    replayedRecords: counter(
      "usage_ledger_replayed_records_total",
      "Records replayed after a restore (between the generation's resume offset and the end of the partition at restore time).",
    ),
  };
}
