import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Admin } from "kafkajs";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { RequestStatistics } from "@usage-ledger/statistics";
import type { Aggregator } from "../src/index";
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
import type { RunningAggregator, TestTopics } from "./support/harness";
import { groundTruth, makeRecords, publishRecords } from "./support/records";

const brokers = inject("kafkaBrokers");

/** The merge of several instances' local statistics (their partitions are disjoint). */
function mergedLocal(aggregators: readonly Aggregator[]): RequestStatistics {
  const merged = new RequestStatistics();
  for (const aggregator of aggregators) {
    const local = aggregator.localStatistics();
    merged.mergeDetails(local.exportDetails(0, local.detailCount));
  }
  return merged;
}

/** Both own partitions, none twice, all of them together, every one live. */
function splitBetween(a: Aggregator, b: Aggregator, partitions: number): boolean {
  const mine = a.ownedPartitions();
  const theirs = b.ownedPartitions();
  return (
    mine.length > 0 &&
    theirs.length > 0 &&
    mine.length + theirs.length === partitions &&
    new Set([...mine, ...theirs]).size === partitions &&
    a.readiness().ready &&
    b.readiness().ready
  );
}

describe("several aggregators in one group", () => {
  let admin: Admin;
  const topicsUsed: TestTopics[] = [];
  const running: RunningAggregator[] = [];

  beforeAll(async () => {
    admin = quietKafka(brokers).admin();
    await admin.connect();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((instance) => instance.aggregator.stop()));
  });
  afterAll(async () => {
    for (const topics of topicsUsed) await deleteTopics(brokers, topics);
    await admin.disconnect();
  });

  it("two aggregators split the partitions; after one leaves, the other owns all and the statistics stay exact (issue 5, acceptance 5)", async () => {
    const topics = testTopics("split");
    topicsUsed.push(topics);
    const groupId = uniqueName("split");
    const a = await startAggregator(aggregatorOptions(brokers, topics, { instanceId: "split-a", groupId }));
    running.push(a);
    await eventually("A owns all 6 partitions", () => a.aggregator.readiness().ready && a.aggregator.ownedPartitions().length === 6);
    const b = await startAggregator(aggregatorOptions(brokers, topics, { instanceId: "split-b", groupId }));
    running.push(b);
    await eventually("A and B split the 6 partitions", () => splitBetween(a.aggregator, b.aggregator, 6));

    const first = makeRecords({ count: 20_000, seed: 21 });
    const published = await publishRecords({
      brokers,
      topic: topics.recordsTopic,
      records: first,
      publishers: 2,
      resendRate: 0.05,
      seed: 22,
    });
    expect(published.reports.flatMap((report) => report.failed)).toEqual([]);
    await eventually("A and B applied everything", () => caughtUp(admin, topics.recordsTopic, [a.aggregator, b.aggregator]));
    expect(splitBetween(a.aggregator, b.aggregator, 6)).toBe(true);
    const truthFirst = groundTruth(first);
    expectSameStatistics(mergedLocal([a.aggregator, b.aggregator]), truthFirst);
    // Each instance answers for the whole fleet once the other's generations are in.
    await eventually("A's fleet view holds B's partitions", () => a.aggregator.fleetStatistics().detailCount === truthFirst.detailCount);
    expectSameStatistics(a.aggregator.fleetStatistics(), truthFirst);

    await b.aggregator.stop();
    running.splice(running.indexOf(b), 1);
    await eventually("A owns all 6 partitions again", () => a.aggregator.readiness().ready && a.aggregator.ownedPartitions().length === 6);
    const second = makeRecords({ count: 5_000, seed: 23, tag: "second-" });
    await publishRecords({ brokers, topic: topics.recordsTopic, records: second, resendRate: 0.05, seed: 24 });
    await eventually("A applied everything", () => caughtUp(admin, topics.recordsTopic, [a.aggregator]));
    const truth = groundTruth([...first, ...second]);
    expectSameStatistics(a.aggregator.localStatistics(), truth);
    expectSameStatistics(a.aggregator.fleetStatistics(), truth);
    expectRestoredBeforeApplied(a.events);
    expectRestoredBeforeApplied(b.events);
  });

  it("a second aggregator joins mid-stream and later leaves: statistics exact, every partition restored before it is applied (issue 6, acceptance 2)", async () => {
    const topics = testTopics("rebalance");
    topicsUsed.push(topics);
    const groupId = uniqueName("rebalance");
    const a = await startAggregator(aggregatorOptions(brokers, topics, { instanceId: "rebalance-a", groupId, snapshotIntervalMs: 500 }));
    running.push(a);
    await eventually("A owns all 6 partitions", () => a.aggregator.readiness().ready && a.aggregator.ownedPartitions().length === 6);

    const records = makeRecords({ count: 30_000, seed: 31 });
    let b: RunningAggregator | undefined;
    const joinAt = 8_000;
    const leaveAt = 20_000;
    const published = await publishRecords({
      brokers,
      topic: topics.recordsTopic,
      records,
      publishers: 2,
      resendRate: 0.05,
      seed: 32,
      onPublished: async (index) => {
        if (index === joinAt) {
          b = await startAggregator(aggregatorOptions(brokers, topics, { instanceId: "rebalance-b", groupId, snapshotIntervalMs: 500 }));
          running.push(b);
          await eventually("A and B split the partitions", () => splitBetween(a.aggregator, b!.aggregator, 6));
        }
        if (index === leaveAt && b !== undefined) {
          // B leaves only once it has really taken part: on a slow machine its restore and claim can
          // outlast the 12,000 records published meanwhile (the records stay on its partitions).
          const joined = b;
          await eventually("B applied records of its partitions", () =>
            joined.events.some((event) => event.type === "applied" && event.applied > 0),
          );
          await b.aggregator.stop();
          running.splice(running.indexOf(b), 1);
        }
      },
    });
    expect(published.reports.flatMap((report) => report.failed)).toEqual([]);
    await eventually("A owns all 6 partitions again", () => a.aggregator.readiness().ready && a.aggregator.ownedPartitions().length === 6);
    await eventually("A applied everything", () => caughtUp(admin, topics.recordsTopic, [a.aggregator]));
    const truth = groundTruth(records);
    expectSameStatistics(a.aggregator.localStatistics(), truth);
    expect(b).toBeDefined();
    const joined = b!;
    // B really took part: it restored and applied partitions, and A restored what B handed back.
    expect(joined.events.some((event) => event.type === "applied" && event.applied > 0)).toBe(true);
    const handedBack = a.events.filter((event) => event.type === "restored" && event.epoch !== undefined);
    expect(handedBack.length).toBeGreaterThan(0);
    expectRestoredBeforeApplied(a.events);
    expectRestoredBeforeApplied(joined.events);
    // Every restore's claim lands, under the epoch the restore chose (written once the tail was replayed).
    const restores = a.events.flatMap((event) => (event.type === "restored" ? [event] : []));
    await eventually("A claimed every partition it restored", () =>
      restores.every((restored) =>
        a.events.some(
          (event) =>
            event.type === "claimed" &&
            event.token === restored.token &&
            event.partition === restored.partition &&
            event.epoch === restored.claimedEpoch,
        ),
      ),
    );
  });
});
