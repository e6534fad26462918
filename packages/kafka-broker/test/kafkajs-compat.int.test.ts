import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Consumer, EachMessagePayload } from "kafkajs";
import { createTestTopics, testKafka, uniqueName } from "../src/testing";

const brokers = inject("kafkaBrokers");

/** Polls `condition` until true; fails with `what` after `timeoutMs` (a guard against hangs, not a speed check). */
async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** Asserts that `seen` holds each of `expected` exactly once. */
function expectExactlyOnce(seen: string[], expected: string[]): void {
  const counts = new Map<string, number>();
  for (const value of seen) counts.set(value, (counts.get(value) ?? 0) + 1);
  const duplicates = [...counts].filter(([, count]) => count > 1).map(([value]) => value);
  const missing = expected.filter((value) => !counts.has(value));
  expect({ duplicates, missing, extra: seen.length - expected.length + missing.length }).toEqual({
    duplicates: [],
    missing: [],
    extra: 0,
  });
}

describe("kafkajs 2.2.4 against the chosen broker", () => {
  let topics: Awaited<ReturnType<typeof createTestTopics>>;
  beforeAll(async () => {
    topics = await createTestTopics(brokers, [
      { prefix: "group-split", numPartitions: 6 },
      { prefix: "idempotent", numPartitions: 3 },
      {
        prefix: "compacted",
        numPartitions: 1,
        configEntries: [
          { name: "cleanup.policy", value: "compact" },
          { name: "segment.ms", value: "100" },
          { name: "min.cleanable.dirty.ratio", value: "0.01" },
          { name: "delete.retention.ms", value: "100" },
        ],
      },
      { prefix: "resume", numPartitions: 2 },
    ]);
  });
  afterAll(async () => {
    await topics.cleanup();
  });

  it("splits partitions between two members of one group, each message consumed once", async () => {
    const topic = topics.names[0] ?? "";
    const groupId = uniqueName("group");
    const kafka = testKafka(brokers);
    const seenBy: Record<string, string[]> = { a: [], b: [] };
    const assigned: Record<string, Set<number>> = { a: new Set(), b: new Set() };
    const consumers: Consumer[] = [];
    for (const member of ["a", "b"] as const) {
      const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        assigned[member] = new Set(event.payload.memberAssignment[topic] ?? []);
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }: EachMessagePayload) => {
          seenBy[member]?.push(message.value?.toString() ?? "");
        },
      });
      consumers.push(consumer);
    }
    await eventually("both members hold partitions", () => (assigned.a?.size ?? 0) > 0 && (assigned.b?.size ?? 0) > 0);
    const producer = kafka.producer();
    await producer.connect();
    const expected = Array.from({ length: 600 }, (_, index) => `m${index}`);
    await producer.send({ topic, messages: expected.map((value, index) => ({ key: `k${index % 50}`, value })) });
    await producer.disconnect();
    await eventually("all messages consumed", () => (seenBy.a?.length ?? 0) + (seenBy.b?.length ?? 0) >= expected.length);
    await Promise.all(consumers.map((consumer) => consumer.disconnect()));
    const a = [...(assigned.a ?? [])];
    const b = [...(assigned.b ?? [])];
    expect(a.filter((partition) => b.includes(partition))).toEqual([]);
    expect([...a, ...b].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seenBy.a?.length).toBeGreaterThan(0);
    expect(seenBy.b?.length).toBeGreaterThan(0);
    expectExactlyOnce([...(seenBy.a ?? []), ...(seenBy.b ?? [])], expected);
  });

  it("publishes through an idempotent producer and reads every message back once, in order per partition", async () => {
    const topic = topics.names[1] ?? "";
    const kafka = testKafka(brokers);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
    await producer.connect();
    const expected = Array.from({ length: 300 }, (_, index) => `i${index}`);
    for (let batch = 0; batch < 3; batch += 1) {
      const values = expected.slice(batch * 100, batch * 100 + 100);
      const metadata = await producer.send({ topic, acks: -1, messages: values.map((value, index) => ({ key: `k${index % 7}`, value })) });
      expect(metadata.every((entry) => entry.errorCode === 0)).toBe(true);
    }
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: uniqueName("idem") });
    const seen: string[] = [];
    const lastIndexByPartition = new Map<number, number>();
    let outOfOrder = 0;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const value = message.value?.toString() ?? "";
        const index = Number(value.slice(1));
        if ((lastIndexByPartition.get(partition) ?? -1) > index) outOfOrder += 1;
        lastIndexByPartition.set(partition, index);
        seen.push(value);
      },
    });
    await eventually("all idempotent messages consumed", () => seen.length >= expected.length);
    await consumer.disconnect();
    expect(outOfOrder).toBe(0);
    expectExactlyOnce(seen, expected);
  });

  it("compacts a compacted topic so that only the latest value per key is read back", async () => {
    const topic = topics.names[2] ?? "";
    const kafka = testKafka(brokers);
    const producer = kafka.producer();
    await producer.connect();
    const keys = Array.from({ length: 20 }, (_, index) => `key-${index}`);
    for (let round = 0; round < 5; round += 1) {
      await producer.send({ topic, messages: keys.map((key) => ({ key, value: `${key}@${round}` })) });
      await new Promise((done) => setTimeout(done, 150));
    }
    const admin = topics.admin;
    // Keep rolling segments until the cleaner has compacted the earlier rounds away: the active
    // segment is never cleaned, so each later write lets the cleaner take the one before.
    const readAll = async (): Promise<Array<[string, string]>> => {
      const consumer = kafka.consumer({ groupId: uniqueName("compacted-reader") });
      const [{ high } = { high: "0" }] = await admin.fetchTopicOffsets(topic);
      const rows: Array<[string, string]> = [];
      let last = -1;
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          rows.push([message.key?.toString() ?? "", message.value?.toString() ?? ""]);
          last = Number(message.offset);
        },
      });
      await eventually("read to the end of the compacted topic", () => last >= Number(high) - 1);
      await consumer.disconnect();
      return rows;
    };
    let rows: Array<[string, string]> = [];
    await eventually(
      "log compaction to have removed older values",
      async () => {
        await producer.send({ topic, messages: [{ key: "filler", value: String(Date.now()) }] });
        rows = (await readAll()).filter(([key]) => key !== "filler");
        return rows.length === keys.length;
      },
      120_000,
    );
    await producer.disconnect();
    expect(rows.map(([key]) => key).sort()).toEqual([...keys].sort());
    expect(rows.every(([key, value]) => value === `${key}@4`)).toBe(true);
  });

  it("resumes from committed offsets after a consumer restart", async () => {
    const topic = topics.names[3] ?? "";
    const groupId = uniqueName("resume");
    const kafka = testKafka(brokers);
    const producer = kafka.producer();
    await producer.connect();
    const first = Array.from({ length: 100 }, (_, index) => `a${index}`);
    const second = Array.from({ length: 100 }, (_, index) => `b${index}`);
    await producer.send({ topic, messages: first.map((value, index) => ({ key: `k${index}`, value })) });
    const consume = async (count: number): Promise<string[]> => {
      const consumer = kafka.consumer({ groupId });
      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          seen.push(message.value?.toString() ?? "");
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
        },
      });
      await eventually(`${count} messages`, () => seen.length >= count);
      await consumer.disconnect();
      return seen;
    };
    const firstRun = await consume(first.length);
    await producer.send({ topic, messages: second.map((value, index) => ({ key: `k${index}`, value })) });
    await producer.disconnect();
    const secondRun = await consume(second.length);
    expectExactlyOnce(firstRun, first);
    expectExactlyOnce(secondRun, second);
  });
});
