import { createHash } from "node:crypto";
import type { RequestStatistics } from "@usage-ledger/statistics";

/**
 * SHA-256 of a statistics snapshot normalised for comparison: the seed keeps each model's details
 * in insertion order, which differs when the same records arrive through several partitions (and
 * publishers) in another interleaving; everything else (totals, buckets, per-API and per-model
 * counters, every detail field) is compared as is. Map keys are sorted as Go sorts them.
 */
export function snapshotDigest(statistics: RequestStatistics): string {
  const snapshot = statistics.snapshot();
  for (const api of Object.values(snapshot.apis)) {
    for (const model of Object.values(api.models)) {
      const keyed = model.details.map((detail) => [JSON.stringify(detail), detail] as const);
      keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      model.details = keyed.map(([, detail]) => detail);
    }
  }
  return createHash("sha256").update(JSON.stringify(snapshot, sortedReplacer)).digest("hex");
}

function sortedReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key];
  return sorted;
}
