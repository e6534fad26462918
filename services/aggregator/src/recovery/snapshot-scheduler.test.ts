import { describe, expect, it } from "vitest";
import { RequestStatistics } from "@usage-ledger/statistics";
import type { UsageRecord } from "@usage-ledger/statistics";
import { frozenView } from "./snapshot-scheduler";

function record(index: number): UsageRecord {
  return {
    timestamp: { epochSeconds: 1_768_056_419 + index, nanos: 0, offsetSeconds: 0 },
    apiKey: "sk-a",
    model: "m",
    provider: "",
    endpoint: "",
    source: "",
    authIndex: "",
    authId: "",
    authType: "",
    failed: index % 2 === 0,
    statusCode: 0,
    latencyMs: 0,
    tokens: { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
  };
}

describe("frozenView", () => {
  it("keeps the detail count and totals of the moment it was taken while the statistics grow", () => {
    const statistics = new RequestStatistics();
    for (let index = 0; index < 5; index++) statistics.apply(record(index));
    const view = frozenView(statistics);
    const totals = statistics.totals();
    for (let index = 5; index < 9; index++) statistics.apply(record(index));
    expect(view.detailCount).toBe(5);
    expect(view.totals()).toEqual(totals);
    expect(statistics.totals()).not.toEqual(totals);
    const rebuilt = new RequestStatistics();
    rebuilt.mergeDetails(view.exportDetails(0, view.detailCount));
    expect(rebuilt.totals()).toEqual(view.totals());
    expect(() => view.exportDetails(0, 6)).toThrow(RangeError);
  });
});
