import { describe, expect, it } from "vitest";
import { RequestStatistics } from "@usage-ledger/statistics";
import type { UsageRecord } from "@usage-ledger/statistics";
import { MergedView } from "./fleet-view";

function record(index: number, apiKey: string): UsageRecord {
  return {
    timestamp: { epochSeconds: 1_768_056_419 + index, nanos: index, offsetSeconds: 0 },
    apiKey,
    model: "gpt-5",
    provider: "",
    endpoint: "",
    source: "",
    authIndex: "",
    authId: "",
    authType: "",
    failed: false,
    statusCode: 200,
    latencyMs: 0,
    tokens: { inputTokens: index, outputTokens: 1, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
  };
}

function union(...parts: RequestStatistics[]): RequestStatistics {
  const all = new RequestStatistics();
  for (const part of parts) all.mergeDetails(part.exportDetails(0, part.detailCount));
  return all;
}

describe("MergedView", () => {
  it("merges only what is new in each source and equals the union of the sources", () => {
    const a = new RequestStatistics();
    const b = new RequestStatistics();
    for (let index = 0; index < 50; index++) a.apply(record(index, "sk-a"));
    const view = new MergedView({ keepDropped: false });
    const first = view.refresh([
      { partition: 0, statistics: a },
      { partition: 1, statistics: b },
    ]);
    expect(first.detailCount).toBe(50);
    for (let index = 50; index < 80; index++) a.apply(record(index, "sk-a"));
    for (let index = 0; index < 20; index++) b.apply(record(index, "sk-b"));
    const second = view.refresh([
      { partition: 0, statistics: a },
      { partition: 1, statistics: b },
    ]);
    expect(second).toBe(first);
    expect(second.snapshotJson()).toBe(union(a, b).snapshotJson());
  });

  it("the local flavour rebuilds when a source is dropped; the fleet flavour keeps what it merged", () => {
    const a = new RequestStatistics();
    const b = new RequestStatistics();
    for (let index = 0; index < 10; index++) {
      a.apply(record(index, "sk-a"));
      b.apply(record(index, "sk-b"));
    }
    const local = new MergedView({ keepDropped: false });
    const fleet = new MergedView({ keepDropped: true });
    const both = [
      { partition: 0, statistics: a },
      { partition: 1, statistics: b },
    ];
    local.refresh(both);
    fleet.refresh(both);
    expect(local.refresh([{ partition: 0, statistics: a }]).snapshotJson()).toBe(union(a).snapshotJson());
    // A newer copy of partition 1 (a restored generation: a prefix of what was live) adds nothing twice.
    const restored = new RequestStatistics();
    restored.mergeDetails(b.exportDetails(0, 5));
    expect(
      fleet
        .refresh([
          { partition: 0, statistics: a },
          { partition: 1, statistics: restored },
        ])
        .snapshotJson(),
    ).toBe(union(a, b).snapshotJson());
    fleet.reset();
    expect(fleet.refresh([{ partition: 0, statistics: a }]).snapshotJson()).toBe(union(a).snapshotJson());
  });
});
