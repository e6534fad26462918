import type { ParsedSnapshot, RequestStatistics } from "@usage-ledger/statistics";
import type { Registry } from "prom-client";

/**
 * What the HTTP API needs from the aggregator: the part of `Aggregator` (src/aggregator.ts) it
 * calls. The real aggregator satisfies it structurally; the unit tests use an in-memory double.
 */
export interface ManagementBackend {
  /** Fleet-wide statistics: own partitions live, the others from their latest snapshots. */
  fleetStatistics(): RequestStatistics;
  /** Durable import through Kafka; resolves with the seed's counts and the totals after the import. */
  importSnapshot(snapshot: ParsedSnapshot): Promise<ImportOutcome>;
  /** Per-partition states of the partitions this instance owns. */
  readiness(): ReadinessReport;
  /** The prom-client registry served at /metrics. */
  readonly metrics: Registry;
}

/** The result of an import, as the seed's handler reports it. */
export interface ImportOutcome {
  readonly added: number;
  readonly skipped: number;
  readonly totalRequests: number;
  readonly failedRequests: number;
}

/** Readiness of an aggregator instance. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly state: string }>;
}
