import { describe, expect, inject, it } from "vitest";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import {
  aggregatorOptions,
  caughtUp,
  endOffsets,
  eventually,
  expectRestoredBeforeApplied,
  expectSameStatistics,
  startAggregator,
  useTestTopics,
} from "./support/harness";
import type { RunningAggregator } from "./support/harness";
import { groundTruth, makeRecords, publishRecords } from "./support/records";

const brokers = inject("kafkaBrokers");

describe("ingest exactness (issue 5, acceptance 1)", () => {
  let running: RunningAggregator | undefined;
  const { topics, admin } = useTestTopics(brokers, "exact", async () => running?.aggregator.stop());

  it("3 publishers, 200,000 records over 6 partitions, 5% re-sent: the statistics equal those of the distinct records", async () => {
    const groupId = uniqueName("exact");
    running = await startAggregator(aggregatorOptions(brokers, topics, { instanceId: "exact-a", groupId, partitions: 6 }));
    const { aggregator } = running;
    await eventually("all 6 partitions live", () => aggregator.readiness().ready && aggregator.ownedPartitions().length === 6);

    const records = makeRecords({ count: 200_000, seed: 1, apiKeys: 60 });
    const published = await publishRecords({ brokers, topic: topics.recordsTopic, records, publishers: 3, resendRate: 0.05, seed: 2 });
    expect(published.reports.flatMap((report) => report.failed)).toEqual([]);
    expect(published.resent).toBeGreaterThan(9_000);
    expect(published.messages).toBe(records.length + published.resent);

    await eventually("every published record applied", () => caughtUp(admin, topics.recordsTopic, [aggregator]), 300_000);
    const progress = aggregator.progress();
    expect({ applied: progress.applied, duplicates: progress.duplicates, dlq: progress.dlq }).toEqual({
      applied: records.length,
      duplicates: published.resent,
      dlq: 0,
    });
    const truth = groundTruth(records);
    expectSameStatistics(aggregator.localStatistics(), truth);
    expectSameStatistics(aggregator.fleetStatistics(), truth);
    expectRestoredBeforeApplied(running.events);
    // The group's committed offsets follow the applied positions (for lag monitoring; never resumed from).
    const ends = await endOffsets(admin, topics.recordsTopic);
    await eventually("the applied positions committed", async () => {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.recordsTopic] });
      return (committed?.partitions ?? []).every((entry) => Number(entry.offset) === ends.get(entry.partition));
    });
  });
});
