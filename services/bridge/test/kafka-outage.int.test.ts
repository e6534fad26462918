import { testKafka } from "@usage-ledger/kafka-broker/testing";
import { createPublisher } from "@usage-ledger/publisher";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createBridge, type Bridge } from "../src/bridge";
import { createKafkaDeadLetterSink } from "../src/dead-letter";
import type { NodeConfig } from "../src/node-worker";
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
  temporarySpoolDir,
  testLogger,
} from "./support/helpers";
import { fromNode, generatedPayloads } from "./support/payloads";

const brokers = inject("kafkaBrokers");
const KEY = "management-key-for-tests";

/**
 * Kafka unreachable: the bridge keeps draining the node into its spool (the node's retention is
 * short, the spool is not), reports itself degraded, stops with everything still in the spool, and
 * the next start publishes it all once Kafka is back. A spool that reaches its bound stops the
 * intake instead, and the node keeps the rest.
 */
describe("bridge: Kafka unreachable", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A bridge whose Kafka is an address where nothing listens: every send fails and is retried. */
  function unreachableBridge(node: NodeConfig, spoolDir: string, spoolMaxBytes: number): Bridge {
    const unreachable = testKafka(["127.0.0.1:9"]);
    const publisher = createPublisher({ kafka: unreachable, topic: "usage.records", deliveryTimeoutMs: 500 });
    const deadLetters = createKafkaDeadLetterSink({ kafka: unreachable });
    cleanups.push(async () => {
      await publisher.close({ deadlineMs: 1_000 });
      await deadLetters.close();
    });
    const bridge = createBridge({
      nodes: [node],
      publisher,
      deadLetters,
      logger: testLogger,
      tuning: { ...FAST_TUNING, batchSize: 50 },
      spool: { dir: spoolDir, maxBytes: spoolMaxBytes },
    });
    bridge.start();
    return bridge;
  }

  it("drains the node into the spool, stops with it there, and the next start publishes every record once", async () => {
    const fake = new FakeCliProxyNode({ managementKey: KEY });
    await fake.listen();
    cleanups.push(() => fake.close());
    const payloads = generatedPayloads(300, { prefix: "outage" });
    for (const payload of payloads) fake.enqueue(payload.json);
    const node = fakeNodeConfig(fake.address, KEY, "lpop");
    const spoolDir = temporarySpoolDir();

    const bridge = unreachableBridge(node, spoolDir, 64 * 1024 * 1024);
    await eventually("the node is drained into the spool", () => fake.queued === 0 && bridge.health().nodes[0]?.spool.records === 300);
    await eventually("the bridge is retrying its first batch", () => bridge.health().nodes[0]?.deliveryRetrying === true);
    expect(bridge.health()).toMatchObject({ status: "degraded", nodes: [{ healthy: false, deliveryRetrying: true }] });
    // Every reply was stored before the next LPOP: the node got that confirmation for all of them.
    expect(fake.handouts.filter((handout) => !handout.confirmed)).toHaveLength(0);

    const report = await bridge.stop({ deadlineMs: 200 });
    expect(report).toEqual({ undelivered: [], leftInSpool: 300 });

    // Kafka is back: a new bridge on the same spool publishes what the first one left, first.
    const topics = await createTopics(brokers, [
      { prefix: "bridge-outage", numPartitions: 2 },
      { prefix: "bridge-outage-dlq", numPartitions: 1 },
    ]);
    cleanups.push(() => topics.cleanup());
    const [topic = "", dlqTopic = ""] = topics.names;
    const recovered = startTestBridge({ brokers, topic, dlqTopic, nodes: [node], spoolDir });
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

  it("stops taking records when the spool reaches its bound; the node keeps the rest, and /healthz says why", async () => {
    const fake = new FakeCliProxyNode({ managementKey: KEY });
    await fake.listen();
    cleanups.push(() => fake.close());
    const payloads = generatedPayloads(2_000, { prefix: "outage-full" });
    for (const payload of payloads) fake.enqueue(payload.json);
    const node = fakeNodeConfig(fake.address, KEY, "lpop");
    const bridge = unreachableBridge(node, temporarySpoolDir(), 40 * 1024);
    await eventually("the spool is full", () => bridge.health().nodes[0]?.spool.full === true);
    const pops = fake.commands.filter((command) => command === "LPOP").length;
    // Nothing more is popped while it is full (the next LPOP would be answered at once: the node has plenty).
    await eventually("a publish attempt failed after the spool filled", async () => {
      const failed = (await bridge.metrics.failed.get()).values.reduce((sum, value) => sum + value.value, 0);
      return failed >= 100;
    });
    expect(fake.commands.filter((command) => command === "LPOP")).toHaveLength(pops);
    const held = bridge.health().nodes[0]?.spool.records ?? 0;
    expect(held + fake.queued).toBe(payloads.length);
    expect(fake.queued).toBeGreaterThan(1_000);
    expect(bridge.health()).toMatchObject({ status: "degraded", nodes: [{ healthy: false, spool: { full: true } }] });
    expect(await bridge.stop({ deadlineMs: 100 })).toEqual({ undelivered: [], leftInSpool: held });
  });
});
