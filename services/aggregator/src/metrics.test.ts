import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { METRIC_NAMES, createAggregatorMetrics } from "./metrics";

describe("createAggregatorMetrics", () => {
  it("registers every documented metric, and reuses them when given the same registry twice", async () => {
    const registry = new Registry();
    const first = createAggregatorMetrics(registry);
    const second = createAggregatorMetrics(registry);
    expect(second.recordsApplied).toBe(first.recordsApplied);
    expect(
      registry
        .getMetricsAsArray()
        .map((metric) => metric.name)
        .sort(),
    ).toEqual([...METRIC_NAMES].sort());
    first.recordsApplied.inc(3);
    second.recordsApplied.inc(2);
    first.dlqRecords.inc({ reason: "WIRE_BAD_MARKER" });
    first.consumerLag.set({ partition: "4" }, 17);
    const text = await registry.metrics();
    expect(text).toContain("usage_ledger_records_applied_total 5");
    expect(text).toContain('usage_ledger_dlq_records_total{reason="WIRE_BAD_MARKER"} 1');
    expect(text).toContain('usage_ledger_consumer_lag{partition="4"} 17');
  });

  it("makes its own registry when given none", () => {
    const a = createAggregatorMetrics();
    const b = createAggregatorMetrics();
    expect(a.registry).not.toBe(b.registry);
  });
});
