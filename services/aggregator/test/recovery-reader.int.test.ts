import { describe, expect, inject, it } from "vitest";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { SnapshotReader } from "@usage-ledger/snapshots";
import { snapshotDigest } from "./support/digest";
import { aggregatorOptions, caughtUp, eventually, expectSameStatistics, startAggregator, useTestTopics } from "./support/harness";
import type { RunningAggregator } from "./support/harness";
import { groundTruth, makeRecords, publishRecords } from "./support/records";

const brokers = inject("kafkaBrokers");

describe("downstream reader (issue 6, acceptance 6)", () => {
  const running: RunningAggregator[] = [];
  const { topics, kafka, admin } = useTestTopics(brokers, "reader", () =>
    Promise.all(running.map((instance) => instance.aggregator.stop())),
  );

  it("a SnapshotReader with no aggregator running rebuilds exactly the fleet statistics the aggregators held", async () => {
    const groupId = uniqueName("reader");
    // Two instances, so the fleet is made of several writers' generations (incremental and full).
    for (const name of ["reader-a", "reader-b"]) {
      running.push(
        await startAggregator(
          aggregatorOptions(brokers, topics, { instanceId: name, groupId, snapshotIntervalMs: 300, fullSnapshotEvery: 3 }),
        ),
      );
    }
    const [a, b] = running as [RunningAggregator, RunningAggregator];
    await eventually("A and B split the partitions", () => {
      const owned = a.aggregator.ownedPartitions().length + b.aggregator.ownedPartitions().length;
      return owned === 6 && a.aggregator.ownedPartitions().length > 0 && a.aggregator.readiness().ready && b.aggregator.readiness().ready;
    });
    const records = makeRecords({ count: 15_000, seed: 71 });
    await publishRecords({ brokers, topic: topics.recordsTopic, records, publishers: 2, resendRate: 0.05, seed: 72 });
    await eventually("A and B applied everything", () => caughtUp(admin, topics.recordsTopic, [a.aggregator, b.aggregator]));
    const truth = groundTruth(records);
    await eventually("A's fleet view is complete", () => a.aggregator.fleetStatistics().detailCount === truth.detailCount);
    const held = snapshotDigest(a.aggregator.fleetStatistics());
    expect(held).toBe(snapshotDigest(truth));

    await Promise.all(running.splice(0).map((instance) => instance.aggregator.stop()));
    const reader = SnapshotReader.create({ kafka, topic: topics.snapshotsTopic, sourceTopic: topics.recordsTopic });
    try {
      const result = await reader.readAll();
      expect([...result.partitions.keys()].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5]);
      expectSameStatistics(result.fleet, truth);
      expect(snapshotDigest(result.fleet)).toBe(held);
    } finally {
      await reader.close();
    }
  });
});
