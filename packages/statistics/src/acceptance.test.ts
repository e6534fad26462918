import { describe, expect, it } from "vitest";
import { RequestStatistics } from "./request-statistics";
import type { StatisticsSnapshot } from "./snapshot-types";
import { usageRecord } from "../test/support/records";

describe("issue 3, acceptance 3: nanosecond timestamps keep distinct records apart", () => {
  const n = 100_000;
  const records = Array.from({ length: n }, (_, i) =>
    usageRecord({
      apiKey: "sk-same",
      model: "gpt-same",
      source: "same@example.com",
      authIndex: "0",
      latencyMs: 250,
      // From 07:59:59.99995 local across the second boundary: 1 ns apart each.
      timestamp: { epochSeconds: 1_768_003_199 + (i >= 50_000 ? 1 : 0), nanos: (999_950_000 + i) % 1_000_000_000, offsetSeconds: 28800 },
      tokens: { inputTokens: 10, outputTokens: 5 },
    }),
  );

  it("counts all 100,000 records that differ only in their nanoseconds, and re-applying adds nothing", () => {
    const statistics = new RequestStatistics();
    const first = records.map((record) => statistics.apply(record));
    expect(first.every((result) => result === "added")).toBe(true);
    expect(statistics.totals()).toEqual({ totalRequests: n, successCount: n, failureCount: 0, totalTokens: 15 * n });
    const details = statistics.snapshot().apis["sk-same"]?.models["gpt-same"]?.details ?? [];
    expect(new Set(details.map((d) => d.timestamp)).size).toBe(n);
    expect(details[0]?.timestamp).toBe("2026-01-10T07:59:59.99995+08:00");
    expect(details[1]?.timestamp).toBe("2026-01-10T07:59:59.999950001+08:00");
    expect(details[49_999]?.timestamp).toBe("2026-01-10T07:59:59.999999999+08:00");
    expect(details[50_000]?.timestamp).toBe("2026-01-10T08:00:00+08:00");
    expect(details[50_010]?.timestamp).toBe("2026-01-10T08:00:00.00000001+08:00");
    expect(statistics.snapshot().requests_by_hour).toEqual({ "07": 50_000, "08": 50_000 });

    const before = statistics.snapshotJson();
    const again = records.map((record) => statistics.apply(record));
    expect(again.every((result) => result === "duplicate")).toBe(true);
    expect(statistics.mergeSnapshot(JSON.parse(before) as StatisticsSnapshot)).toEqual({ added: 0, skipped: n });
    expect(statistics.mergeDetails(statistics.exportDetails())).toEqual({ added: 0, skipped: n });
    expect(statistics.snapshotJson()).toBe(before);
    expect(statistics.detailCount).toBe(n);
  });
});
