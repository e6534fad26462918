import type { UsageRecord } from "@usage-ledger/statistics";
import { decodeUsageRecord, encodeUsageRecord } from "@usage-ledger/wire";
import { createTestTopics, startDedicatedBroker } from "@usage-ledger/kafka-broker/testing";
import type { LocalBroker } from "@usage-ledger/kafka-broker";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPublisher, statisticsKey } from "../src/index";
import type { PublishAck, PublisherError, UsagePublisher } from "../src/index";
import { eventually, expectExactlyOnce, readTopic } from "./support/kafka";
import { usageRecord } from "./support/records";

const OUTAGE_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
const wireId = (record: UsageRecord): string => encodeUsageRecord(record).toString("base64");

/** Publishes one record every `intervalMs` until stopped, keeping each call's promise. */
function startStream(
  publisher: UsagePublisher,
  prefix: string,
  intervalMs = 20,
): { results: Array<Promise<PublishAck>>; stop(): Promise<void> } {
  const results: Array<Promise<PublishAck>> = [];
  let running = true;
  const loop = (async () => {
    for (let index = 0; running; index += 1) {
      results.push(publisher.publish(usageRecord({ apiKey: `${prefix}-${String(index % 7)}`, latencyMs: index })));
      await sleep(intervalMs);
    }
  })();
  return {
    results,
    async stop() {
      running = false;
      await loop;
    },
  };
}

describe("publisher through a broker outage (dedicated broker, killed with SIGKILL)", () => {
  let broker: LocalBroker | undefined;
  let topics: Awaited<ReturnType<typeof createTestTopics>>;
  let brokers: string[] = [];

  beforeAll(async () => {
    broker = await startDedicatedBroker(inject("kafkaRunDir"));
    brokers = broker.brokers;
    topics = await createTestTopics(brokers, [
      { prefix: "outage-back", numPartitions: 3 },
      { prefix: "outage-down", numPartitions: 3 },
    ]);
  });
  afterAll(async () => {
    await topics.cleanup();
    await broker?.stop();
  });

  it("(a) killed for 10 s while records are published, then restarted: close() delivers every record, each exactly once", async () => {
    const live = broker;
    if (live === undefined) throw new Error("no broker");
    const topic = topics.names[0] ?? "";
    const publisher = createPublisher({ brokers, topic, batch: { maxRecords: 50, lingerMs: 20 }, deliveryTimeoutMs: 180_000 });
    await publisher.connect();
    // Fast enough that a request is usually on the wire when the broker dies.
    const stream = startStream(publisher, "back", 5);
    await eventually("records acknowledged before the outage", () => publisher.stats().acknowledged >= 100);
    await live.kill();
    const atKill = publisher.stats();
    await sleep(OUTAGE_MS);
    const beforeRestart = publisher.stats();
    const restartStarted = performance.now();
    await live.restart();
    await stream.stop();
    const report = await publisher.close();
    const drainedMs = performance.now() - restartStarted;
    const final = publisher.stats();

    // The outage happened while publishing: records were accepted and not acknowledged during it.
    expect(beforeRestart.published - atKill.published).toBeGreaterThan(100);
    expect(beforeRestart.acknowledged).toBeLessThan(beforeRestart.published);
    expect(final.retries).toBeGreaterThan(0);

    expect(report.failed).toEqual([]);
    const acks = await Promise.all(stream.results);
    expect(final).toMatchObject({ published: acks.length, acknowledged: acks.length, failed: 0, buffered: 0, waiting: 0 });

    const messages = await readTopic(brokers, topic);
    expectExactlyOnce(
      messages.map((message) => message.value.toString("base64")),
      acks.map((ack) => wireId(ack.record)),
    );
    expect(messages.every((message) => message.key === statisticsKey(decodeUsageRecord(message.value)))).toBe(true);
    console.info(
      `[publisher outage a] ${String(acks.length)} records, ${String(beforeRestart.published - atKill.published)} published during a ${String(OUTAGE_MS)} ms outage, ` +
        `${String(final.retries)} retried attempts, ${String(final.batches)} batches; restart + drain took ${drainedMs.toFixed(0)} ms`,
    );
  });

  it("(b) killed and left down: close({ deadlineMs }) reports each undelivered record, and the topic holds no more than what was acknowledged or reported", async () => {
    const live = broker;
    if (live === undefined) throw new Error("no broker");
    const topic = topics.names[1] ?? "";
    const publisher = createPublisher({ brokers, topic, batch: { maxRecords: 50, lingerMs: 20 }, deliveryTimeoutMs: 180_000 });
    await publisher.connect();
    const stream = startStream(publisher, "down");
    await eventually("records acknowledged before the outage", () => publisher.stats().acknowledged >= 100);
    await live.kill();
    await sleep(OUTAGE_MS);
    await stream.stop();
    const beforeClose = publisher.stats();
    const report = await publisher.close({ deadlineMs: 2_000 });
    const outcomes = await Promise.allSettled(stream.results);
    const acked = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value.record] : []));
    const errors = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason as PublisherError] : []));

    // Every record pending at close() is either delivered or reported, and each rejection is in the report.
    expect(report.delivered + report.failed.length).toBe(beforeClose.buffered + beforeClose.waiting);
    expect(report.failed.length).toBeGreaterThan(0);
    expect(report.failed.map((failure) => failure.error)).toEqual(errors);
    expect(new Set(report.failed.map((failure) => failure.error.code))).toEqual(new Set(["PUBLISHER_CLOSE_TIMEOUT"]));
    expect(acked.length + report.failed.length).toBe(stream.results.length);
    expect(publisher.stats()).toMatchObject({
      published: stream.results.length,
      acknowledged: acked.length,
      failed: report.failed.length,
      buffered: 0,
      waiting: 0,
    });

    // Bring the broker back to look at the topic.
    await live.restart();
    const messages = await readTopic(brokers, topic);
    const inTopic = messages.map((message) => message.value.toString("base64"));
    const topicSet = new Set(inTopic);
    const reported = new Map(report.failed.map((failure) => [wireId(failure.record), failure.error]));
    const published = new Set([...acked.map(wireId), ...reported.keys()]);
    // No duplicates, nothing that was not published, every acknowledged record present.
    expect(inTopic.length).toBe(topicSet.size);
    expect(inTopic.filter((id) => !published.has(id))).toEqual([]);
    expect(acked.map(wireId).filter((id) => !topicSet.has(id))).toEqual([]);
    // A reported record can be in the topic only if an attempt reached the broker before the kill
    // (its error says so); a record that was never sent is not there.
    const reportedButWritten = inTopic.filter((id) => reported.has(id));
    expect(reportedButWritten.filter((id) => reported.get(id)?.message.includes("never sent"))).toEqual([]);
    // Every record missing from the topic was reported.
    expect([...published].filter((id) => !topicSet.has(id) && !reported.has(id))).toEqual([]);
    console.info(
      `[publisher outage b] ${String(stream.results.length)} published, ${String(acked.length)} acknowledged, ${String(report.failed.length)} reported undelivered ` +
        `(${String(reportedButWritten.length)} of them found in the topic after restart)`,
    );
  });
});
