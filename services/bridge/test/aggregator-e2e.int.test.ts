import { RequestStatistics } from "@usage-ledger/statistics";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { NodeConfig, NodeMode } from "../src/node-worker";
import { FakeCliProxyNode } from "./support/fake-cliproxy";
import { eventually, fakeNodeConfig, sortedDetails, startTestAggregator, startTestBridge, type TestBridge } from "./support/helpers";
import { CURRENT_ERA, fromNode, generatedPayloads, MALFORMED, SEED_ERA, type LiteralPayload } from "./support/payloads";

const brokers = inject("kafkaBrokers");
const KEY = "fleet-management-key";

/**
 * Acceptance 4: a fleet of three CLIProxyAPI nodes (one per mode) → bridge → usage.records →
 * aggregator. The statistics the aggregator serves (its fleet view, what GET
 * /v0/management/usage answers) equal RequestStatistics.record over the mapped payloads fed in.
 */
describe("bridge → aggregator end to end (acceptance 4)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("the aggregator's statistics equal those computed from the payloads fed to the nodes", async () => {
    const counting = await startTestAggregator(brokers, "bridge-e2e");
    cleanups.push(() => counting.close());
    const { aggregator, topics } = counting;

    const feeds: Array<{ mode: NodeMode; payloads: LiteralPayload[] }> = [
      { mode: "lpop", payloads: [...SEED_ERA, ...generatedPayloads(300, { prefix: "e2e-lpop", keys: 4 })] },
      {
        mode: "subscribe",
        payloads: [...CURRENT_ERA, ...generatedPayloads(300, { prefix: "e2e-subscribe", keys: 4, startSecond: 1_772_413_200 })],
      },
      { mode: "http", payloads: generatedPayloads(300, { prefix: "e2e-http", keys: 4, startSecond: 1_772_416_800 }) },
    ];
    const nodes: NodeConfig[] = [];
    const fakes: FakeCliProxyNode[] = [];
    for (const feed of feeds) {
      const fake = new FakeCliProxyNode({ managementKey: KEY });
      await fake.listen();
      cleanups.push(() => fake.close());
      fakes.push(fake);
      nodes.push(fakeNodeConfig(fake.address, KEY, feed.mode, `e2e-${feed.mode}`));
      // Half queued before the bridge starts, half while it runs.
      for (const payload of feed.payloads.slice(0, 150)) fake.enqueue(payload.json);
    }
    const bridge: TestBridge = startTestBridge({ brokers, topic: topics.recordsTopic, dlqTopic: topics.dlqTopic, nodes });
    cleanups.push(() => bridge.close());
    await eventually("the subscribe node has its subscriber", () => fakes[1]?.subscriberCount === 1);
    feeds.forEach((feed, index) => {
      const fake = fakes[index];
      for (const [position, payload] of feed.payloads.slice(150).entries()) {
        fake?.enqueue(payload.json);
        const bad = MALFORMED.filter((malformed) => malformed.httpSafe)[position];
        if (bad !== undefined) fake?.enqueue(bad.json);
      }
    });

    const truth = new RequestStatistics();
    feeds.forEach((feed, index) => {
      for (const payload of feed.payloads) truth.record(fromNode(payload.expected, nodes[index]?.id ?? ""));
    });
    const total = feeds.reduce((sum, feed) => sum + feed.payloads.length, 0);
    await eventually("the aggregator applied every record", () => aggregator.progress().applied === total);
    await bridge.close();

    expect(fakes.map((fake) => fake.handedOut.length)).toEqual(
      feeds.map((feed) => feed.payloads.length + MALFORMED.filter((bad) => bad.httpSafe).length),
    );
    const served = aggregator.fleetStatistics();
    expect(served.totals()).toEqual(truth.totals());
    expect(sortedDetails(served.snapshot())).toEqual(sortedDetails(truth.snapshot()));
    expect(aggregator.progress()).toMatchObject({ applied: total, duplicates: 0, ignored: 0, dlq: 0 });
    // The malformed payloads went to the dead-letter topic from the bridge, not through the aggregator.
    const dlq = (await bridge.bridge.metrics.deadLettered.get()).values.reduce((sum, value) => sum + value.value, 0);
    expect(dlq).toBe(3 * MALFORMED.filter((bad) => bad.httpSafe).length);
  });
});
