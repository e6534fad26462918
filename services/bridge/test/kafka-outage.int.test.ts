import { testKafka } from "@usage-ledger/kafka-broker/testing";
import { createPublisher } from "@usage-ledger/publisher";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createBridge } from "../src/bridge";
import { createKafkaDeadLetterSink } from "../src/dead-letter";
import { isBridgeError } from "../src/errors";
import { FakeCliProxyNode } from "./support/fake-cliproxy";
import {
  createTopics,
  decodeAll,
  eventually,
  expectSameRecordsOnce,
  FAST_TUNING,
  fakeNodeConfig,
  readWholeTopic,
  startTestBridge,
  testLogger,
} from "./support/helpers";
import { fromNode, generatedPayloads } from "./support/payloads";

const brokers = inject("kafkaBrokers");
const KEY = "management-key-for-tests";

/**
 * Kafka unreachable: the bridge holds the batch it popped, retries it, pops nothing more, reports
 * itself degraded, and on stop reports (and logs) each record it could not deliver, so an
 * operator can replay them; replayed, they reach the topic like any other.
 */
describe("bridge: Kafka unreachable", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("pops one batch, holds it, and reports it undelivered at the stop deadline", async () => {
    const fake = new FakeCliProxyNode({ managementKey: KEY });
    await fake.listen();
    cleanups.push(() => fake.close());
    const payloads = generatedPayloads(200, { prefix: "outage" });
    for (const payload of payloads) fake.enqueue(payload.json);
    const node = fakeNodeConfig(fake.address, KEY, "lpop");

    // Nothing listens at 127.0.0.1:9 (discard): every send fails and is retried.
    const unreachable = testKafka(["127.0.0.1:9"]);
    const publisher = createPublisher({ kafka: unreachable, topic: "usage.records", deliveryTimeoutMs: 500 });
    const deadLetters = createKafkaDeadLetterSink({ kafka: unreachable });
    cleanups.push(async () => {
      await publisher.close({ deadlineMs: 1_000 });
      await deadLetters.close();
    });
    const bridge = createBridge({ nodes: [node], publisher, deadLetters, logger: testLogger, tuning: { ...FAST_TUNING, batchSize: 50 } });
    bridge.start();
    await eventually("the bridge is retrying its batch", () => bridge.health().nodes[0]?.deliveryRetrying === true);
    await eventually("a second attempt at the batch has failed too", async () => {
      const failed = (await bridge.metrics.failed.get()).values.reduce((sum, value) => sum + value.value, 0);
      return failed >= 2 * 50;
    });
    expect(bridge.health()).toMatchObject({ status: "degraded", nodes: [{ healthy: false, deliveryRetrying: true }] });
    // One batch popped, nothing more while it is not acknowledged.
    expect(fake.queued).toBe(150);
    expect(fake.commands.filter((command) => command === "LPOP")).toHaveLength(1);

    const report = await bridge.stop({ deadlineMs: 200 });
    expect(report.undelivered.map((lost) => lost.raw.toString("utf8"))).toEqual(payloads.slice(0, 50).map((payload) => payload.json));
    expect(
      report.undelivered.every((lost) => isBridgeError(lost.error, "BRIDGE_PUBLISH_FAILED") && lost.nodeAddress === node.address),
    ).toBe(true);
    expect(fake.queued).toBe(150);

    // The operator replays the reported payloads (they are logged too); with Kafka back, everything arrives once.
    const topics = await createTopics(brokers, [
      { prefix: "bridge-outage", numPartitions: 2 },
      { prefix: "bridge-outage-dlq", numPartitions: 1 },
    ]);
    cleanups.push(() => topics.cleanup());
    const [topic = "", dlqTopic = ""] = topics.names;
    for (const lost of report.undelivered) fake.enqueue(lost.raw);
    const recovered = startTestBridge({ brokers, topic, dlqTopic, nodes: [node] });
    cleanups.push(() => recovered.close());
    await eventually("every record published", async () => {
      const published = (await recovered.bridge.metrics.published.get()).values.reduce((sum, value) => sum + value.value, 0);
      return published === payloads.length;
    });
    await recovered.close();
    expectSameRecordsOnce(
      decodeAll(await readWholeTopic(brokers, topic)),
      payloads.map((payload) => fromNode(payload.expected, node.id)),
    );
  });
});
