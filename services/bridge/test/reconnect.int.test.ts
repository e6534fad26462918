import { RequestStatistics, type UsageRecord } from "@usage-ledger/statistics";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { BridgeTuning, NodeMode } from "../src/node-worker";
import { FakeCliProxyNode, type Fault } from "./support/fake-cliproxy";
import {
  canonical,
  createTopics,
  decodeAll,
  eventually,
  expectSameRecordsOnce,
  fakeNodeConfig,
  readWholeTopic,
  startTestBridge,
  type TestBridge,
} from "./support/helpers";
import { fromNode, generatedPayloads } from "./support/payloads";

const brokers = inject("kafkaBrokers");
const KEY = "management-key-for-tests";

/**
 * Acceptance 2: the node drops the connection in the middle of the stream (after a full reply,
 * instead of a reply, in the middle of a reply) and goes away for a while; no record the node
 * handed out is lost, and what reached the topic, applied through RequestStatistics.apply (the
 * aggregator's dedup), counts each handed-out record exactly once.
 */
describe("bridge: connection drops and node outages (acceptance 2)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  interface ScenarioExtras {
    tuning?: Partial<BridgeTuning>;
    pushDelayMs?: number;
  }

  async function scenario(mode: NodeMode, plan: ReadonlyMap<number, Fault | "outage">, prefix: string, extras: ScenarioExtras = {}) {
    const topics = await createTopics(brokers, [
      { prefix: "bridge-reconnect", numPartitions: 3 },
      { prefix: "bridge-reconnect-dlq", numPartitions: 1 },
    ]);
    cleanups.push(() => topics.cleanup());
    const [topic = "", dlqTopic = ""] = topics.names;
    const payloads = generatedPayloads(600, { prefix, keys: 7 });
    const expectedByJson = new Map(payloads.map((payload) => [payload.json, payload.expected]));
    const outages: Array<Promise<void>> = [];
    const fake: FakeCliProxyNode = new FakeCliProxyNode({
      managementKey: KEY,
      ...(extras.pushDelayMs === undefined ? {} : { pushDelayMs: extras.pushDelayMs }),
      fault: ({ index }) => {
        const step = plan.get(index) ?? "none";
        if (step !== "outage") return step;
        // The node goes away (every connection closed, nothing listening), gets traffic meanwhile, and comes back.
        outages.push(
          (async () => {
            await fake.goDown();
            for (const payload of payloads.slice(400, 500)) fake.enqueue(payload.json);
            await new Promise((done) => setTimeout(done, 300));
            await fake.listen();
          })(),
        );
        return "drop-before";
      },
    });
    await fake.listen();
    cleanups.push(() => fake.close());
    for (const payload of payloads.slice(0, 400)) fake.enqueue(payload.json);
    const node = fakeNodeConfig(fake.address, KEY, mode);
    const running: TestBridge = startTestBridge({ brokers, topic, dlqTopic, nodes: [node], tuning: { batchSize: 20, ...extras.tuning } });
    cleanups.push(() => running.close());
    return { topic, payloads, expectedByJson, fake, node, running, outages };
  }

  async function published(running: TestBridge, node: string): Promise<number> {
    return (await running.bridge.metrics.published.get()).values
      .filter((value) => value.labels.node === node)
      .reduce((sum, value) => sum + value.value, 0);
  }

  async function expectEveryHandedOutRecordOnce(context: Awaited<ReturnType<typeof scenario>>, total: number): Promise<void> {
    const { fake, running, node, topic, expectedByJson } = context;
    await eventually("the node's queue is empty and every handed-out record is published", async () => {
      await Promise.all(context.outages);
      return fake.queued === 0 && (await published(running, node.address)) === fake.handedOut.length;
    });
    await running.close();
    // Accounting at the node: every record fed was either handed out in full or cut in transit.
    expect(fake.handedOut.length + fake.lostInTransit.length).toBe(total);

    const onTopic = decodeAll(await readWholeTopic(brokers, topic));
    const handedOut = fake.handedOut.map((payload) => fromNode(expectedByJson.get(payload.toString("utf8")) as UsageRecord, node.id));
    // Nothing the node handed out is missing; a duplicate (if any) is removed by the aggregator's dedup below.
    const distinctOnTopic = [...new Map(onTopic.map((record) => [canonical(record), record])).values()];
    expectSameRecordsOnce(distinctOnTopic, handedOut);

    const statistics = new RequestStatistics();
    const outcomes = onTopic.map((record) => statistics.apply(record));
    expect(outcomes.filter((outcome) => outcome === "added")).toHaveLength(fake.handedOut.length);
    expect(outcomes.filter((outcome) => outcome === "ignored")).toEqual([]);
    const truth = new RequestStatistics();
    for (const record of handedOut) truth.record(record);
    expect(statistics.snapshotJson()).toBe(truth.snapshotJson());
  }

  it("lpop: drop after a reply, instead of a reply, in mid-reply, and a node outage", async () => {
    const plan = new Map<number, Fault | "outage">([
      [3, "drop-after"],
      [6, "drop-before"],
      [9, "truncate"],
      [12, "drop-after"],
      [15, "outage"],
      [19, "truncate"],
    ]);
    const context = await scenario("lpop", plan, "reconnect-lpop");
    await expectEveryHandedOutRecordOnce(context, 500);
    expect(context.fake.lostInTransit.length).toBeGreaterThan(0);
    const reconnects = (await context.running.bridge.metrics.reconnects.get()).values.reduce((sum, value) => sum + value.value, 0);
    expect(reconnects).toBeGreaterThanOrEqual(plan.size);
  });

  it("http: drop after a response, instead of a response, in mid-response, and a node outage", async () => {
    const plan = new Map<number, Fault | "outage">([
      [2, "drop-after"],
      [5, "drop-before"],
      [8, "truncate"],
      [11, "outage"],
    ]);
    const context = await scenario("http", plan, "reconnect-http");
    await expectEveryHandedOutRecordOnce(context, 500);
    expect(context.fake.lostInTransit.length).toBeGreaterThan(0);
  });

  it("subscribe: the node goes away while the bridge is subscribed; what it queued meanwhile is drained on return", async () => {
    const context = await scenario("subscribe", new Map([[4, "drop-after"]]), "reconnect-subscribe");
    const { fake, running, node, payloads } = context;
    await eventually(
      "subscribed with the backlog published",
      async () => fake.subscriberCount === 1 && (await published(running, node.address)) === fake.handedOut.length,
    );
    for (const payload of payloads.slice(400, 450)) fake.enqueue(payload.json); // pushed live
    await eventually("live pushes published", async () => (await published(running, node.address)) === 450 - fake.lostInTransit.length);
    await fake.goDown();
    for (const payload of payloads.slice(450, 550)) fake.enqueue(payload.json); // queued: nobody subscribed
    await fake.listen();
    await eventually("subscribed again", () => fake.subscriberCount === 1);
    for (const payload of payloads.slice(550, 600)) fake.enqueue(payload.json); // pushed live again
    await expectEveryHandedOutRecordOnce(context, 600);
    // Subscribed three times: at the start, after the drain connection dropped (pop 4), after the outage.
    expect(fake.commands.filter((command) => command === "SUBSCRIBE")).toHaveLength(3);
  });

  it("subscribe: a burst of 200 pushes is taken into the spool at once, without ever leaving subscribe mode", async () => {
    // The node writes pushes from its buffer a moment late, as a busy node does: leaving subscribe
    // mode now (UNSUBSCRIBE) would discard what it still buffers.
    const context = await scenario("subscribe", new Map(), "reconnect-burst", { pushDelayMs: 5 });
    const { fake, running, node, payloads } = context;
    await eventually(
      "subscribed with the backlog published",
      async () => fake.subscriberCount === 1 && (await published(running, node.address)) === 400,
    );
    for (const payload of payloads.slice(400, 600)) fake.enqueue(payload.json);
    await eventually("every pushed record reached the bridge", () => fake.handedOut.length === 600);
    expect(fake.commands.filter((command) => command === "UNSUBSCRIBE")).toEqual([]);
    await expectEveryHandedOutRecordOnce(context, 600);
    expect(fake.lostInTransit).toEqual([]);
    expect(fake.commands.filter((command) => command === "SUBSCRIBE")).toHaveLength(1);
  });
});
