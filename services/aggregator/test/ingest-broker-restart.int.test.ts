import { afterAll, describe, expect, inject, it } from "vitest";
import type { Admin } from "kafkajs";
import type { LocalBroker } from "@usage-ledger/kafka-broker";
import { startDedicatedBroker, uniqueName } from "@usage-ledger/kafka-broker/testing";
import {
  aggregatorOptions,
  caughtUp,
  eventually,
  expectRestoredBeforeApplied,
  expectSameStatistics,
  quietKafka,
  sleep,
  startAggregator,
  testTopics,
} from "./support/harness";
import type { RunningAggregator } from "./support/harness";
import { groundTruth, makeRecords, publishRecords } from "./support/records";

describe("broker restart (issue 5, acceptance 3)", () => {
  let broker: LocalBroker | undefined;
  let admin: Admin | undefined;
  let running: RunningAggregator | undefined;

  afterAll(async () => {
    await running?.aggregator.stop();
    await admin?.disconnect();
    await broker?.stop();
  });

  it("a dedicated broker SIGKILLed and restarted while publishers send: afterwards the statistics are exact", async () => {
    broker = await startDedicatedBroker(inject("kafkaRunDir"));
    const brokers = broker.brokers;
    const topics = testTopics("restart");
    running = await startAggregator(
      aggregatorOptions(brokers, topics, {
        instanceId: "restart-a",
        groupId: uniqueName("restart"),
        partitions: 4,
        snapshotIntervalMs: 500,
      }),
    );
    const { aggregator } = running;
    await eventually("all partitions live", () => aggregator.readiness().ready && aggregator.ownedPartitions().length === 4);

    const records = makeRecords({ count: 20_000, seed: 91 });
    const killAt = 6_000;
    let outage: Promise<void> | undefined;
    const published = await publishRecords({
      brokers,
      topic: topics.recordsTopic,
      records,
      publishers: 3,
      resendRate: 0.05,
      seed: 92,
      onPublished: async (index) => {
        if (index === killAt) {
          // The broker dies mid-stream and comes back 5 s later; publishing goes on meanwhile.
          const dedicated = broker!;
          await dedicated.kill();
          outage = sleep(5_000).then(() => dedicated.restart());
        }
        if (index % 500 === 499) await sleep(50);
      },
    });
    await outage;
    // Every record was delivered (the publishers retried through the outage), each at least once.
    expect(published.reports.flatMap((report) => report.failed)).toEqual([]);

    admin = quietKafka(brokers).admin();
    await admin.connect();
    const connected = admin;
    await eventually("every record applied after the restart", () => caughtUp(connected, topics.recordsTopic, [aggregator]), 240_000);
    expect(aggregator.readiness().ready).toBe(true);
    expectSameStatistics(aggregator.localStatistics(), groundTruth(records));
    expectRestoredBeforeApplied(running.events);
  });
});
