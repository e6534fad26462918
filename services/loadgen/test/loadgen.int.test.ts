import { afterAll, describe, expect, inject, it } from "vitest";
import { createTestTopics, testKafka, uniqueName } from "@usage-ledger/kafka-broker/testing";
import { RequestStatistics } from "@usage-ledger/statistics";
import type { UsageRecord } from "@usage-ledger/statistics";
import { decodeUsageRecord } from "@usage-ledger/wire";
import { runFleet } from "../src/index";
import type { LoadgenLogger } from "../src/index";

const brokers = inject("kafkaBrokers");
const quiet: LoadgenLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Every message of a topic, read from the beginning until `expected` have arrived. */
async function readAll(topic: string, expected: number): Promise<Array<{ key: string; value: Buffer; partition: number }>> {
  const consumer = testKafka(brokers).consumer({ groupId: uniqueName("loadgen-read") });
  const messages: Array<{ key: string; value: Buffer; partition: number }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        messages.push({ key: message.key?.toString("utf8") ?? "", value: message.value ?? Buffer.alloc(0), partition });
        if (messages.length >= expected) done();
      },
    });
    await all;
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** The statistics key the publisher keys a record by. */
function statisticsKey(record: UsageRecord): string {
  return record.apiKey || record.endpoint || record.provider || "unknown";
}

describe("runFleet against a real broker", () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await cleanup?.();
  });

  it("publishes exactly what its summary says, keyed by statistics key, and the topic applied with dedup equals its ground truth", async () => {
    const topics = await createTestTopics(brokers, [{ prefix: "loadgen", numPartitions: 3 }]);
    cleanup = () => topics.cleanup();
    const topic = topics.names[0]!;
    const { summary, groundTruth } = await runFleet({
      brokers,
      topic,
      nodes: 3,
      records: 3000,
      resendRate: 0.05,
      seed: 2024,
      logger: quiet,
    });
    expect(summary.failed).toBe(0);
    expect(summary.generated).toBe(3000);
    expect(summary.distinct).toBe(3000);
    expect(summary.resent).toBeGreaterThan(50);
    expect(summary.sent).toBe(3000 + summary.resent);

    const messages = await readAll(topic, summary.sent);
    expect(messages.length).toBe(summary.sent);
    const applied = new RequestStatistics();
    const keyMismatches: string[] = [];
    const partitionOfKey = new Map<string, number>();
    const keySpread: string[] = [];
    let duplicates = 0;
    for (const message of messages) {
      const record = decodeUsageRecord(message.value);
      if (message.key !== statisticsKey(record)) keyMismatches.push(message.key);
      const seen = partitionOfKey.get(message.key);
      if (seen !== undefined && seen !== message.partition) keySpread.push(message.key);
      partitionOfKey.set(message.key, message.partition);
      if (applied.apply(record) === "duplicate") duplicates++;
    }
    expect(keyMismatches).toEqual([]);
    expect(keySpread).toEqual([]); // all records of one statistics key share a partition
    expect(duplicates).toBe(summary.resent);
    expect(applied.detailCount).toBe(groundTruth?.detailCount);
    expect(applied.totals()).toEqual(groundTruth?.totals());
    // Same details; the order inside a model may differ (acknowledgement order vs partition order).
    expect(sortedSnapshot(applied)).toEqual(sortedSnapshot(groundTruth!));
  });
});

function sortedSnapshot(statistics: RequestStatistics): unknown {
  const snapshot = statistics.snapshot();
  for (const api of Object.values(snapshot.apis)) {
    for (const model of Object.values(api.models))
      model.details.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  }
  return snapshot;
}
