import { describe, expect, it } from "vitest";
import { RequestStatistics, createSystemClock, parseStatisticsSnapshot } from "@usage-ledger/statistics";
import type { StatisticsSnapshot, UsageRecord } from "@usage-ledger/statistics";
import { decodeDetailChunk } from "@usage-ledger/wire";
import { encodeImportChunks, routeImport } from "./import";
import { createPartitionRouter } from "./partitions/partition-routing";

function record(index: number, apiKey: string): UsageRecord {
  return {
    timestamp: { epochSeconds: 1_768_056_419 + index, nanos: index * 7, offsetSeconds: -5 * 3600 },
    apiKey,
    model: index % 3 === 0 ? "" : "gpt-5",
    provider: "openai",
    endpoint: "",
    source: `s${index % 4}@example.com`,
    authIndex: String(index % 2),
    authId: "",
    authType: "",
    failed: index % 11 === 0,
    statusCode: 200,
    latencyMs: index,
    tokens: { inputTokens: index, outputTokens: 2 * index, reasoningTokens: 0, cachedTokens: 1, totalTokens: 0 },
  };
}

function snapshotOf(records: readonly UsageRecord[]): StatisticsSnapshot {
  const statistics = new RequestStatistics();
  for (const one of records) statistics.record(one);
  return statistics.snapshot();
}

describe("routeImport", () => {
  it("routes details by the publishers' partitioner, drops blank API names and stamps Go's zero time once", () => {
    const records = Array.from({ length: 60 }, (_, index) => record(index, `sk-${index % 9}`));
    const snapshot = snapshotOf(records);
    const firstApi = snapshot.apis["sk-1"]!;
    snapshot.apis[" \t "] = firstApi;
    const zeroModel = firstApi.models["gpt-5"]!;
    zeroModel.details = [
      ...zeroModel.details,
      { ...zeroModel.details[0]!, timestamp: "0001-01-01T00:00:00Z" },
      { ...zeroModel.details[0]!, timestamp: "0001-01-01T00:00:00Z" },
    ];
    const parsed = parseStatisticsSnapshot(snapshot);
    const router = createPartitionRouter(4);
    const stamps: number[] = [];
    const clock = createSystemClock({ nowMillis: () => 1_800_000_000_000 });
    const batches = routeImport(parsed.details, router, () => {
      const now = clock();
      stamps.push(now.nanos);
      return now;
    });
    // Two zero-time details, each stamped exactly once, with distinct instants.
    expect(stamps.length).toBe(2);
    expect(new Set(stamps).size).toBe(2);
    const rows = batches.reduce((sum, batch) => sum + batch.columns.count, 0);
    expect(rows).toBe(records.length + 2);
    for (const batch of batches) {
      for (let row = 0; row < batch.columns.count; row++) {
        const api = batch.columns.strings[batch.columns.api[row]!]!;
        expect(api.trim()).not.toBe("");
        expect(router(api)).toBe(batch.partition);
        expect(batch.columns.epochSeconds[row]).not.toBe(-62_135_596_800);
      }
    }
    // Merged back, the batches are the snapshot's merge (blank API dropped, zero times stamped).
    const merged = new RequestStatistics();
    const counts = batches.map((batch) => merged.mergeDetails(batch.columns));
    expect(counts.reduce((sum, count) => sum + count.added, 0)).toBe(records.length + 2);
    const plain = new RequestStatistics();
    plain.mergeSnapshot(parseStatisticsSnapshot(snapshotOf(records)));
    expect(merged.totals().totalRequests).toBe(plain.totals().totalRequests + 2);
  });
});

describe("encodeImportChunks", () => {
  it("splits a partition's details into chunks under the size limit that decode back to the same rows", () => {
    const records = Array.from({ length: 3_000 }, (_, index) => record(index, `sk-${"x".repeat(index % 50)}-${index % 5}`));
    const parsed = parseStatisticsSnapshot(snapshotOf(records));
    const [batch] = routeImport(parsed.details, () => 0, createSystemClock());
    const limit = 16 * 1024;
    const chunks = encodeImportChunks(batch!, "usage.records", limit);
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(limit);
    const fromChunks = new RequestStatistics();
    for (const chunk of chunks) {
      const decoded = decodeDetailChunk(chunk);
      expect(decoded.partition).toBe(0);
      fromChunks.mergeDetails(decoded.columns);
    }
    const direct = new RequestStatistics();
    direct.mergeDetails(batch!.columns);
    expect(fromChunks.snapshotJson()).toBe(direct.snapshotJson());
    expect(fromChunks.detailCount).toBe(records.length);
  });
});
