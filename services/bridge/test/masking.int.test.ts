import { maskSource } from "@usage-ledger/publisher";
import { RequestStatistics } from "@usage-ledger/statistics";
import { afterEach, describe, expect, inject, it } from "vitest";
import { DLQ_HEADERS } from "@usage-ledger/kafka-contract";
import { FakeCliProxyNode } from "./support/fake-cliproxy";
import { createTopics, decodeAll, eventually, fakeNodeConfig, readWholeTopic, startTestBridge, type TestBridge } from "./support/helpers";

const brokers = inject("kafkaBrokers");
const KEY = "management-key-for-tests";
const UPSTREAM = ["sk-ant-api03-Jx9aQ2LmZr7Yt4Vb8Nc1Kd6Hs3Pw5Fg0Ue2Io7Ay", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv"];

/** A current-era payload whose source is `source` (an upstream API key for API-key providers). */
function payload(index: number, source: string): string {
  return `{"timestamp":"2026-03-02T10:00:0${index}.5Z","source":"${source}","auth_index":"0","tokens":{"input_tokens":${10 + index},"output_tokens":1,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":0},"failed":false,"provider":"claude","model":"claude-sonnet-4","endpoint":"POST /v1/messages","auth_type":"apikey","api_key":"client-key","request_id":"mask-${index}"}`;
}

/**
 * Issue 15, acceptance 4 (end to end; the mask itself is unit-tested in packages/publisher): API
 * keys in `source` leave the bridge masked, in records and in dead letters, the same value for the
 * same key in every bridge instance (so the aggregator's dedup key is stable), and raw when masking
 * is turned off.
 */
describe("bridge: masked sources (issue 15, acceptance 4)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function run(sourceMask: false | undefined, feed: readonly string[]): Promise<{ topic: string; dlqTopic: string }> {
    const topics = await createTopics(brokers, [
      { prefix: "bridge-mask", numPartitions: 2 },
      { prefix: "bridge-mask-dlq", numPartitions: 1 },
    ]);
    cleanups.push(() => topics.cleanup());
    const [topic = "", dlqTopic = ""] = topics.names;
    const fake = new FakeCliProxyNode({ managementKey: KEY });
    await fake.listen();
    cleanups.push(() => fake.close());
    const node = fakeNodeConfig(fake.address, KEY, "lpop");
    // Each half through its own bridge instance (a restart): the masked values must agree.
    for (const half of [feed.slice(0, 2), feed.slice(2)]) {
      for (const json of half) fake.enqueue(json);
      const running: TestBridge = startTestBridge({
        brokers,
        topic,
        dlqTopic,
        nodes: [node],
        ...(sourceMask === false ? { sourceMask } : {}),
      });
      await eventually("the node is drained and everything settled", async () => {
        const settled = [running.bridge.metrics.published, running.bridge.metrics.deadLettered].map(async (metric) =>
          (await metric.get()).values.reduce((sum, value) => sum + value.value, 0),
        );
        return fake.queued === 0 && (await Promise.all(settled)).reduce((a, b) => a + b, 0) === half.length;
      });
      await running.close();
    }
    return { topic, dlqTopic };
  }

  const feed = [
    payload(1, UPSTREAM[0] ?? ""),
    payload(2, "alice@example.com"),
    payload(3, UPSTREAM[0] ?? ""),
    payload(1, UPSTREAM[0] ?? ""), // the first record again (a replay): a duplicate downstream
    payload(4, UPSTREAM[1] ?? ""),
    `{"timestamp":"not a time","source":"${UPSTREAM[1] ?? ""}","api_key":"client-key","model":"m"}`,
  ];

  it("masks API-key sources in records and dead letters by default, stably across bridge instances", async () => {
    const { topic, dlqTopic } = await run(undefined, feed);
    const records = decodeAll(await readWholeTopic(brokers, topic));
    expect(records.map((record) => record.source).sort()).toEqual(
      [
        maskSource(UPSTREAM[0] ?? ""),
        "alice@example.com",
        maskSource(UPSTREAM[0] ?? ""),
        maskSource(UPSTREAM[0] ?? ""),
        maskSource(UPSTREAM[1] ?? ""),
      ].sort(),
    );
    expect(records.some((record) => UPSTREAM.some((key) => JSON.stringify(record).includes(key)))).toBe(false);
    // The replayed record (published by the second instance) has the same dedup key as the first.
    const statistics = new RequestStatistics();
    expect(records.map((record) => statistics.apply(record)).filter((outcome) => outcome === "duplicate")).toHaveLength(1);
    const [letter] = await readWholeTopic(brokers, dlqTopic);
    expect(letter?.headers[DLQ_HEADERS.reason]).toBe("WIRE_INVALID_TIMESTAMP");
    expect(letter?.value.toString()).toBe((feed[5] ?? "").replace(UPSTREAM[1] ?? "", maskSource(UPSTREAM[1] ?? "")));
  });

  it("publishes the raw values when masking is turned off", async () => {
    const { topic, dlqTopic } = await run(false, feed);
    const records = decodeAll(await readWholeTopic(brokers, topic));
    expect(new Set(records.map((record) => record.source))).toEqual(new Set([UPSTREAM[0], "alice@example.com", UPSTREAM[1]]));
    expect((await readWholeTopic(brokers, dlqTopic))[0]?.value.toString()).toBe(feed[5]);
  });
});
