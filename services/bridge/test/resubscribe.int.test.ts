import { afterEach, describe, expect, inject, it } from "vitest";
import { FakeCliProxyNode } from "./support/fake-cliproxy";
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
const RESUBSCRIBES = 20;

/**
 * Issue 15, acceptance 1: subscribe mode across 20 resubscribes, against a fake node with the real
 * node's timing: records arrive at a steady rate; one arrives right after every LPOP that empties
 * the queue (the moment between the last LPOP of a drain and the SUBSCRIBE, where the old order
 * left records behind); the node's retention is short; its pushes wait a moment in its buffer
 * (which UNSUBSCRIBE would discard). Every record reaches usage.records, and none waits for a
 * later drain: a record the node queued is handed out right after the next SUBSCRIBE.
 */
describe("bridge: subscribe mode across resubscribes (issue 15, acceptance 1)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it(`records pushed at a steady rate across ${RESUBSCRIBES} resubscribes all reach usage.records, none only after a later drain`, async () => {
    const topics = await createTopics(brokers, [
      { prefix: "bridge-resubscribe", numPartitions: 3 },
      { prefix: "bridge-resubscribe-dlq", numPartitions: 1 },
    ]);
    cleanups.push(() => topics.cleanup());
    const [topic = "", dlqTopic = ""] = topics.names;
    const payloads = generatedPayloads(8_000, { prefix: "resubscribe", keys: 6 });
    let next = 0;
    const feed = (): void => {
      const payload = payloads[next];
      if (payload === undefined) throw new Error("the test ran out of payloads");
      next += 1;
      fake.enqueue(payload.json);
    };
    let betweenDrainAndSubscribe = 0;
    const fake: FakeCliProxyNode = new FakeCliProxyNode({
      managementKey: KEY,
      retentionMs: 1_500,
      pushDelayMs: 3,
      afterPop: ({ popped }) => {
        // A pop that emptied the queue: with the old order (drain, then SUBSCRIBE) this record was queued and stranded.
        if (popped < 20) {
          betweenDrainAndSubscribe += 1;
          feed();
        }
      },
    });
    await fake.listen();
    cleanups.push(() => fake.close());
    const node = fakeNodeConfig(fake.address, KEY, "subscribe");
    const stream = setInterval(feed, 5);
    cleanups.push(async () => clearInterval(stream));
    const running: TestBridge = startTestBridge({ brokers, topic, dlqTopic, nodes: [node], tuning: { batchSize: 20 } });
    cleanups.push(() => running.close());

    const drains = (): number => fake.commands.filter((command) => command === "QUIT").length;
    for (let round = 1; round <= RESUBSCRIBES + 1; round += 1) {
      // Subscribed, its drain finished (the drain connection says QUIT), and some records pushed live.
      await eventually(`subscription ${round} live`, () => fake.epoch === round && fake.subscriberCount === 1 && drains() >= round);
      const pushedBefore = fake.handouts.filter((handout) => handout.via === "push").length;
      await eventually(
        `records pushed in subscription ${round}`,
        () => fake.handouts.filter((h) => h.via === "push").length >= pushedBefore + 10,
      );
      // A network blip: the subscription ends (what the node buffered is written first), records queue until the bridge is back.
      if (round <= RESUBSCRIBES) expect(fake.dropSubscribers()).toBe(1);
    }
    clearInterval(stream);
    await eventually("every record fed was handed out and published", async () => {
      const published = (await running.bridge.metrics.published.get()).values.reduce((sum, value) => sum + value.value, 0);
      return fake.queued === 0 && fake.handedOut.length === next && published === next;
    });
    await running.close();

    // Nothing expired in the node, nothing lost in its buffer, every record fed handed out exactly once.
    expect({ expired: fake.expired.length, lost: fake.lostInTransit.length, handedOut: fake.handedOut.length }).toEqual({
      expired: 0,
      lost: 0,
      handedOut: next,
    });
    expect(betweenDrainAndSubscribe).toBeGreaterThanOrEqual(RESUBSCRIBES);
    // None only after a later drain: a record the node queued went out in the drain right after the next SUBSCRIBE.
    const late = fake.handouts.filter((handout) => handout.via === "lpop" && handout.handoutEpoch - handout.enqueueEpoch > 1);
    expect(late.map((handout) => handout.payload.toString("utf8"))).toEqual([]);
    expect(fake.handouts.filter((handout) => handout.via === "lpop").length).toBeGreaterThan(RESUBSCRIBES);
    // The bridge never left subscribe mode on its own: one UNSUBSCRIBE, at the stop.
    expect(fake.commands.filter((command) => command === "SUBSCRIBE")).toHaveLength(RESUBSCRIBES + 1);
    expect(fake.commands.filter((command) => command === "UNSUBSCRIBE")).toHaveLength(1);

    const expectedByJson = new Map(payloads.map((payload) => [payload.json, payload.expected]));
    const onTopic = decodeAll(await readWholeTopic(brokers, topic));
    const distinct = [...new Map(onTopic.map((record) => [canonical(record), record])).values()];
    expectSameRecordsOnce(
      distinct,
      payloads.slice(0, next).map((payload) => fromNode(expectedByJson.get(payload.json) ?? payload.expected, node.id)),
    );
  });
});
