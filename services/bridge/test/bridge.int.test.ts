import { afterEach, describe, expect, inject, it } from "vitest";
import { DLQ_HEADERS } from "@usage-ledger/kafka-contract";
import type { BridgeMetrics } from "../src/metrics";
import type { NodeMode } from "../src/node-worker";
import { FakeCliProxyNode, type FakeNodeOptions } from "./support/fake-cliproxy";
import {
  createTopics,
  decodeAll,
  eventually,
  expectSameRecordsOnce,
  fakeNodeConfig,
  readWholeTopic,
  startTestBridge,
  type TestBridge,
} from "./support/helpers";
import { CURRENT_ERA, fromNode, generatedPayloads, MALFORMED, SEED_ERA, type LiteralPayload } from "./support/payloads";

const brokers = inject("kafkaBrokers");
const KEY = "management-key-for-tests";

/** The value of a counter for one node (0 when never incremented). */
async function counter(metric: BridgeMetrics["published"], node: string): Promise<number> {
  const values = (await metric.get()).values.filter((value) => value.labels.node === node);
  return values.reduce((sum, value) => sum + value.value, 0);
}

describe("bridge: CLIProxyAPI usage queue → usage.records (acceptance 1)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(mode: NodeMode, emptyCountReply: "nil" | "empty-array" = "nil", fault?: FakeNodeOptions["fault"]) {
    const topics = await createTopics(brokers, [
      { prefix: "bridge-records", numPartitions: 3 },
      { prefix: "bridge-dlq", numPartitions: 1 },
    ]);
    cleanups.push(() => topics.cleanup());
    const [topic = "", dlqTopic = ""] = topics.names;
    const fake = new FakeCliProxyNode({ managementKey: KEY, emptyCountReply, ...(fault === undefined ? {} : { fault }) });
    await fake.listen();
    cleanups.push(() => fake.close());
    const node = fakeNodeConfig(fake.address, KEY, mode);
    const start = (): TestBridge => {
      const running = startTestBridge({ brokers, topic, dlqTopic, nodes: [node] });
      cleanups.push(() => running.close());
      return running;
    };
    return { topic, dlqTopic, fake, node, start };
  }

  /** Literal payloads of both eras, interleaved with generated ones and (optionally) malformed ones. */
  function feed(prefix: string, withMalformed: (typeof MALFORMED)[number][]): { good: LiteralPayload[]; stream: string[] } {
    const good = [...SEED_ERA, ...CURRENT_ERA, ...generatedPayloads(240, { prefix })];
    const stream: string[] = [];
    good.forEach((payload, index) => {
      stream.push(payload.json);
      const bad = withMalformed[index];
      if (bad !== undefined) stream.push(bad.json);
    });
    return { good, stream };
  }

  async function expectDelivered(
    context: Awaited<ReturnType<typeof setup>>,
    running: TestBridge,
    good: readonly LiteralPayload[],
    malformed: (typeof MALFORMED)[number][],
    rawOf: (json: string) => unknown = (json) => json,
  ): Promise<void> {
    const { topic, dlqTopic, fake, node } = context;
    // Wait (a hang guard, not a speed check) until the bridge has settled every message the fake handed out.
    await eventually("the bridge settled every handed-out message", async () => {
      const settled =
        (await counter(running.bridge.metrics.published, node.address)) +
        (await counter(running.bridge.metrics.deadLettered, node.address));
      return fake.queued === 0 && settled === good.length + malformed.length;
    });
    await running.close();

    const records = decodeAll(await readWholeTopic(brokers, topic));
    expectSameRecordsOnce(
      records,
      good.map((payload) => fromNode(payload.expected, node.id)),
    );
    // The literal ones, field by field, exactly as documented.
    for (const payload of [...SEED_ERA, ...CURRENT_ERA]) {
      expect(records.filter((record) => record.extra?.requestId === payload.expected.extra?.requestId)).toEqual([
        fromNode(payload.expected, node.id),
      ]);
    }

    const letters = await readWholeTopic(brokers, dlqTopic);
    expect(
      letters
        .map((letter) => ({
          raw: rawOf(letter.value.toString("utf8")),
          reason: letter.headers[DLQ_HEADERS.reason],
          node: letter.headers[DLQ_HEADERS.sourceNode],
          mode: letter.headers[DLQ_HEADERS.sourceMode],
          hasMessage: (letter.headers[DLQ_HEADERS.message] ?? "").length > 0,
        }))
        .sort((a, b) => JSON.stringify(a.raw).localeCompare(JSON.stringify(b.raw))),
    ).toEqual(
      malformed
        .map((bad) => ({ raw: rawOf(bad.json), reason: bad.reason, node: node.address, mode: node.mode, hasMessage: true }))
        .sort((a, b) => JSON.stringify(a.raw).localeCompare(JSON.stringify(b.raw))),
    );
    // Popped counts every message taken, control payloads included.
    expect(await counter(running.bridge.metrics.popped, node.address)).toBe(
      fake.handedOut.length + (await counter(running.bridge.metrics.control, node.address)),
    );
  }

  it.each([["nil" as const], ["empty-array" as const]])("lpop mode (empty queue answered with %s)", async (emptyCountReply) => {
    const context = await setup("lpop", emptyCountReply);
    const malformed = [...MALFORMED];
    const { good, stream } = feed(`lpop-${emptyCountReply}`, malformed);
    for (const json of stream) context.fake.enqueue(json);
    const running = context.start();
    await expectDelivered(context, running, good, malformed);
    expect(context.fake.commands[0]).toBe("AUTH");
    expect(new Set(context.fake.commands)).toEqual(new Set(["AUTH", "LPOP"]));
    expect(context.fake.handedOut).toHaveLength(stream.length);
  });

  it("subscribe mode: drains what was queued, then takes pushed records; control payloads are not usage", async () => {
    const context = await setup("subscribe");
    const malformed = [...MALFORMED];
    const { good, stream } = feed("subscribe", malformed);
    const half = Math.floor(stream.length / 2);
    for (const json of stream.slice(0, half)) context.fake.enqueue(json);
    const running = context.start();
    await eventually("the bridge subscribed", () => context.fake.subscriberCount === 1);
    stream.slice(half).forEach((json, index) => {
      context.fake.enqueue(json);
      if (index % 40 === 0) context.fake.refresh();
    });
    const refreshes = Math.ceil((stream.length - half) / 40);
    await expectDelivered(context, running, good, malformed);
    // {"support_refresh":true} once, {"refresh":true} per refresh(): counted as control, never published.
    expect(await counter(running.bridge.metrics.control, context.node.address)).toBe(1 + refreshes);
    // Subscribed first, then the queue drained on a second connection, then pushes until the stop.
    expect(context.fake.commands.slice(0, 4)).toEqual(["AUTH", "SUBSCRIBE", "AUTH", "LPOP"]);
    expect(context.fake.commands.filter((command) => command === "SUBSCRIBE")).toHaveLength(1);
    expect(context.fake.commands.at(-1)).toBe("UNSUBSCRIBE");
  });

  it("http mode: GET /v0/management/usage-queue with the key as Bearer", async () => {
    const context = await setup("http");
    // Over HTTP the node answers one JSON array, so every record in it is JSON.
    const malformed = MALFORMED.filter((bad) => bad.httpSafe);
    const { good, stream } = feed("http", malformed);
    for (const json of stream) context.fake.enqueue(json);
    const running = context.start();
    await expectDelivered(context, running, good, malformed, (json) => JSON.parse(json));
    expect(context.fake.authAttempts.every((attempt) => attempt.transport === "http" && attempt.outcome === "ok")).toBe(true);
  });

  it("pops the next batch only after the previous one is in the spool", async () => {
    // At each pop the fake answers, every record it handed out before is in the spool or acknowledged by Kafka.
    const observations: Array<{ handedOut: number; kept: number }> = [];
    const bridgeRef: { current?: TestBridge } = {};
    const context = await setup("lpop", "nil", () => {
      const running = bridgeRef.current;
      const kept = (running?.publisher.stats().acknowledged ?? 0) + (running?.bridge.health().nodes[0]?.spool.records ?? 0);
      observations.push({ handedOut: context.fake.handedOut.length, kept });
      return "none";
    });
    const { good, stream } = feed("order", []);
    for (const json of stream) context.fake.enqueue(json);
    const running = context.start();
    bridgeRef.current = running;
    await eventually(
      "all records published",
      async () => (await counter(running.bridge.metrics.published, context.node.address)) === good.length,
    );
    await running.close();
    expect(observations.length).toBeGreaterThan(stream.length / 50);
    expect(observations.filter((seen) => seen.kept < seen.handedOut)).toEqual([]);
    expect(context.fake.handouts.every((handout) => handout.confirmed)).toBe(true);
  });
});
