import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Admin } from "kafkajs";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { parseStatisticsSnapshot } from "@usage-ledger/statistics";
import type { StatisticsSnapshot } from "@usage-ledger/statistics";
import { snapshotDigest } from "./support/digest";
import {
  aggregatorOptions,
  caughtUp,
  deleteTopics,
  eventually,
  expectRestoredBeforeApplied,
  expectSameStatistics,
  quietKafka,
  startAggregator,
  testTopics,
} from "./support/harness";
import type { RunningAggregator } from "./support/harness";
import { groundTruth, makeRecords, publishRecords } from "./support/records";

const brokers = inject("kafkaBrokers");

/**
 * An export body's snapshot built from records, with the seed's edge cases added: a blank API
 * name (dropped, counted nowhere), a detail repeated within the snapshot (skipped), a negative total
 * (kept raw per API and model, clamped in the global counters).
 */
function importSnapshotOf(records: Parameters<typeof groundTruth>[0]): StatisticsSnapshot {
  const snapshot = groundTruth(records).snapshot();
  const [firstApi] = Object.keys(snapshot.apis).sort();
  const api = snapshot.apis[firstApi!]!;
  const [firstModel] = Object.keys(api.models).sort();
  const model = api.models[firstModel!]!;
  model.details.push({ ...model.details[0]! });
  model.details.push({ ...model.details[0]!, source: "negative@example.com", tokens: { ...model.details[0]!.tokens, total_tokens: -50 } });
  snapshot.apis["   "] = {
    total_requests: 1,
    total_tokens: 1,
    models: { m: { total_requests: 1, total_tokens: 1, details: [{ ...model.details[0]! }] } },
  };
  return snapshot;
}

describe("durable import", () => {
  const topics = testTopics("import");
  let admin: Admin;
  const running: RunningAggregator[] = [];

  beforeAll(async () => {
    admin = quietKafka(brokers).admin();
    await admin.connect();
  });
  afterAll(async () => {
    await Promise.all(running.map((instance) => instance.aggregator.stop()));
    await deleteTopics(brokers, topics);
    await admin.disconnect();
  });

  it("counts added/skipped as the seed's MergeSnapshot, goes through Kafka, stamps a missing timestamp once and survives a restart", async () => {
    const groupId = uniqueName("import");
    const first = await startAggregator(aggregatorOptions(brokers, topics, { instanceId: "import-a", groupId, partitions: 3 }));
    running.push(first);
    const a = first.aggregator;
    await eventually("A owns every partition live", () => a.readiness().ready && a.ownedPartitions().length === 3);
    const published = makeRecords({ count: 3_000, seed: 81 });
    await publishRecords({ brokers, topic: topics.recordsTopic, records: published, seed: 82 });
    await eventually("A applied the published records", () => caughtUp(admin, topics.recordsTopic, [a]));

    // 400 new records, 200 that were published already, and the edge cases.
    const fresh = makeRecords({ count: 400, seed: 83, tag: "imported-" });
    const parsed = parseStatisticsSnapshot(importSnapshotOf([...fresh, ...published.slice(0, 200)]));
    const oracle = groundTruth(published);
    const expected = oracle.mergeSnapshot(parsed);
    const result = await a.importSnapshot(parsed);
    const totals = oracle.totals();
    expect(result).toEqual({ ...expected, totalRequests: totals.totalRequests, failedRequests: totals.failureCount });
    expect(expected).toEqual({ added: 401, skipped: 201 });
    // The import is consumed back from the records topic, as any instance and any restart would.
    await eventually("A applied the import batches", () => caughtUp(admin, topics.recordsTopic, [a]));
    expect(a.progress().importBatches).toBeGreaterThan(0);
    expectSameStatistics(a.localStatistics(), oracle);
    expectSameStatistics(a.fleetStatistics(), oracle);

    // A detail without a timestamp is stamped once, at the import: every instance sees the same one.
    const stamped = importSnapshotOf(makeRecords({ count: 1, seed: 84, tag: "zero-time-" }));
    for (const api of Object.values(stamped.apis)) {
      for (const model of Object.values(api.models)) for (const detail of model.details) detail.timestamp = "0001-01-01T00:00:00Z";
    }
    const zero = await a.importSnapshot(parseStatisticsSnapshot(stamped));
    expect({ added: zero.added, skipped: zero.skipped }).toEqual({ added: 3, skipped: 0 });
    await eventually("A applied the second import", () => caughtUp(admin, topics.recordsTopic, [a]));
    expect(a.localStatistics().totals().totalRequests).toBe(zero.totalRequests);
    const before = snapshotDigest(a.localStatistics());
    expect(JSON.stringify(a.localStatistics().snapshot())).not.toContain("0001-01-01");

    // After a restart, a new instance holds exactly the same statistics, imports included.
    await a.stop();
    running.splice(0);
    const second = await startAggregator(aggregatorOptions(brokers, topics, { instanceId: "import-b", groupId, partitions: 3 }));
    running.push(second);
    const b = second.aggregator;
    await eventually("B owns every partition live", () => b.readiness().ready && b.ownedPartitions().length === 3);
    await eventually("B caught up", () => caughtUp(admin, topics.recordsTopic, [b]));
    expect(snapshotDigest(b.localStatistics())).toBe(before);
    expectRestoredBeforeApplied(second.events);
  });
});
