import { compareTimestamps, formatRfc3339Nano, parseRfc3339 } from "@usage-ledger/statistics";
import type { UsageRecord } from "@usage-ledger/statistics";
import { decodeUsageRecord, encodeUsageRecord } from "@usage-ledger/wire";
import { createTestTopics } from "@usage-ledger/kafka-broker/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPublisher, isPublisherError, statisticsKey } from "../src/index";
import type { PublishAck, PublisherError } from "../src/index";
import { expectExactlyOnce, readTopic } from "./support/kafka";
import { usageRecord, usageRecords } from "./support/records";

const brokers = inject("kafkaBrokers");

/** The identity of a record on the wire: its encoded bytes. */
const wireId = (record: UsageRecord): string => encodeUsageRecord(record).toString("base64");

describe("UsagePublisher against a real broker", () => {
  let topics: Awaited<ReturnType<typeof createTestTopics>>;
  beforeAll(async () => {
    topics = await createTestTopics(brokers, [
      { prefix: "pub-keyed", numPartitions: 6 },
      { prefix: "pub-wait", numPartitions: 1 },
      { prefix: "pub-reject", numPartitions: 1 },
      { prefix: "pub-invalid", numPartitions: 2 },
    ]);
  });
  afterAll(async () => {
    await topics.cleanup();
  });

  it("delivers each record exactly once, keyed by its statistics key, decodable, with strictly increasing stamped timestamps", async () => {
    const topic = topics.names[0] ?? "";
    const publisher = createPublisher({ brokers, topic, nodeId: "node-a", batch: { maxRecords: 200, lingerMs: 5 } });
    await publisher.connect();
    // 40 API keys, plus records keyed by endpoint, by provider and by nothing at all.
    const records: UsageRecord[] = [
      ...usageRecords(3_000, 40),
      ...Array.from({ length: 30 }, (_, index) => usageRecord({ apiKey: "", latencyMs: index })),
      ...Array.from({ length: 30 }, (_, index) => usageRecord({ apiKey: "", endpoint: "", latencyMs: index })),
      ...Array.from({ length: 30 }, (_, index) => usageRecord({ apiKey: "", endpoint: "", provider: "", latencyMs: index })),
    ];
    const own = parseRfc3339("2026-01-10T14:46:59.123456789+08:00");
    records.push(usageRecord({ apiKey: "key-own-time", timestamp: own }));
    const acks = await Promise.all(records.map((record) => publisher.publish(record)));
    const report = await publisher.close();
    expect(report).toEqual({ delivered: 0, failed: [] });
    expect(publisher.stats()).toMatchObject({
      published: records.length,
      acknowledged: records.length,
      failed: 0,
      buffered: 0,
      waiting: 0,
      rejected: 0,
    });

    const messages = await readTopic(brokers, topic);
    expectExactlyOnce(
      messages.map((message) => message.value.toString("base64")),
      acks.map((ack) => wireId(ack.record)),
    );

    // Every message decodes, its key is the statistics key, and the ack told where it is.
    const partitionsByKey = new Map<string, Set<number>>();
    const ackByPosition = new Map(acks.map((ack) => [`${String(ack.partition)}@${ack.offset ?? "?"}`, ack]));
    for (const message of messages) {
      const decoded = decodeUsageRecord(message.value);
      expect(message.key).toBe(statisticsKey(decoded));
      expect(decoded.extra?.nodeId).toBe("node-a");
      const ack = ackByPosition.get(`${String(message.partition)}@${message.offset}`);
      expect(ack?.record).toEqual(decoded);
      const partitions = partitionsByKey.get(message.key) ?? new Set<number>();
      partitions.add(message.partition);
      partitionsByKey.set(message.key, partitions);
    }
    expect([...partitionsByKey].filter(([, partitions]) => partitions.size !== 1)).toEqual([]);
    expect(new Set(partitionsByKey.keys())).toEqual(new Set(records.map(statisticsKey)));
    expect([...partitionsByKey.keys()]).toEqual(
      expect.arrayContaining(["key-0", "key-39", "POST /v1/chat/completions", "openai", "unknown"]),
    );
    expect(new Set(messages.map((message) => message.partition)).size).toBeGreaterThan(1);

    // Stamped timestamps strictly increase in publish order; a timestamp the caller gave is kept.
    const stamped = acks.slice(0, -1).map((ack) => ack.record.timestamp);
    const notIncreasing = stamped.filter(
      (ts, index) => index > 0 && (ts === undefined || compareTimestamps(stamped[index - 1] ?? ts, ts) >= 0),
    );
    expect(notIncreasing).toEqual([]);
    expect(formatRfc3339Nano(acks.at(-1)?.record.timestamp ?? own)).toBe("2026-01-10T14:46:59.123456789+08:00");
    expect(acks.at(-1)?.record.timestamp).toEqual(own);
  });

  it("whenFull 'wait': publish() waits for space in call order, and every waiting record is delivered once", async () => {
    const topic = topics.names[1] ?? "";
    // A linger far longer than the test: batches go only because callers wait for space.
    const publisher = createPublisher({
      brokers,
      topic,
      maxBufferedRecords: 5,
      whenFull: "wait",
      batch: { maxRecords: 1_000, lingerMs: 600_000 },
    });
    await publisher.connect();
    const records = usageRecords(60, 3, "wait");
    const settledOrder: number[] = [];
    const pending = records.map((record, index) =>
      publisher.publish(record).then((ack) => {
        settledOrder.push(index);
        return ack;
      }),
    );
    // Right after the calls: 5 records in the buffer, the other 55 waiting for space.
    expect(publisher.stats()).toMatchObject({ published: 60, buffered: 5, waiting: 55, rejected: 0 });
    const acks = await Promise.all(pending);
    expect(publisher.stats()).toMatchObject({ published: 60, acknowledged: 60, buffered: 0, waiting: 0 });
    // One partition: offsets follow the call order, so waiting records were admitted first come, first served.
    expect(acks.map((ack) => Number(ack.offset))).toEqual(acks.map((_, index) => Number(acks[0]?.offset) + index));
    expect(settledOrder).toEqual(records.map((_, index) => index));
    // Batches never held more than the buffer: 60 records needed at least 12 of them.
    expect(publisher.stats().batches).toBeGreaterThanOrEqual(12);
    await publisher.close();
    const messages = await readTopic(brokers, topic);
    expectExactlyOnce(
      messages.map((message) => message.value.toString("base64")),
      acks.map((ack) => wireId(ack.record)),
    );
  });

  it("whenFull 'reject': publish() rejects with PUBLISHER_BUFFER_FULL at the call, and only accepted records are sent", async () => {
    const topic = topics.names[2] ?? "";
    const publisher = createPublisher({
      brokers,
      topic,
      maxBufferedRecords: 5,
      whenFull: "reject",
      batch: { maxRecords: 1_000, lingerMs: 600_000 },
    });
    await publisher.connect();
    const records = usageRecords(20, 2, "reject");
    const outcomes = await Promise.allSettled(records.map((record) => publisher.publish(record)));
    const accepted = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    const refused = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason as PublisherError] : []));
    expect(accepted).toHaveLength(5);
    expect(outcomes.slice(0, 5).every((outcome) => outcome.status === "fulfilled")).toBe(true);
    expect(refused.map((error) => [isPublisherError(error, "PUBLISHER_BUFFER_FULL"), error.retryable])).toEqual(
      Array.from({ length: 15 }, () => [true, true]),
    );
    expect(publisher.stats()).toMatchObject({ published: 5, rejected: 15, acknowledged: 5, failed: 0 });
    // Once there is space again, publishing works.
    const laterAck = publisher.publish(usageRecord({ apiKey: "reject-later" }));
    expect(await publisher.flush()).toEqual({ delivered: 1, failed: [] });
    const later = await laterAck;
    await publisher.close();
    const messages = await readTopic(brokers, topic);
    expectExactlyOnce(
      messages.map((message) => message.value.toString("base64")),
      [...accepted, later].map((ack: PublishAck) => wireId(ack.record)),
    );
  });

  it("rejects an invalid record at the call, sends the valid ones, and refuses records after close()", async () => {
    const topic = topics.names[3] ?? "";
    const publisher = createPublisher({ brokers, topic });
    const valid = publisher.publish(usageRecord({ apiKey: "valid" }));
    const invalid = publisher.publish(
      usageRecord({ tokens: { inputTokens: -1, outputTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 } }),
    );
    await expect(invalid).rejects.toMatchObject({ code: "PUBLISHER_INVALID_RECORD", wireCode: "WIRE_NEGATIVE_TOKENS", retryable: false });
    const flushed = await publisher.flush();
    expect(flushed).toEqual({ delivered: 1, failed: [] });
    const ack = await valid;
    await publisher.close();
    await expect(publisher.publish(usageRecord())).rejects.toMatchObject({ code: "PUBLISHER_CLOSED" });
    expect(publisher.stats()).toMatchObject({ published: 1, rejected: 2, acknowledged: 1 });
    const messages = await readTopic(brokers, topic);
    expectExactlyOnce(
      messages.map((message) => message.value.toString("base64")),
      [wireId(ack.record)],
    );
  });
});
