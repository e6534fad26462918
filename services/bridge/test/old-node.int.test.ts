import { afterEach, describe, expect, inject, it } from "vitest";
import { buildBridgeApp } from "../src/http-app";
import type { NodeMode } from "../src/node-worker";
import { FakeCliProxyNode } from "./support/fake-cliproxy";
import {
  createTopics,
  decodeAll,
  eventually,
  expectSameRecordsOnce,
  fakeNodeConfig,
  readWholeTopic,
  recordingLogger,
  startTestBridge,
} from "./support/helpers";
import { fromNode, generatedPayloads, SEED_ERA } from "./support/payloads";

const brokers = inject("kafkaBrokers");
const KEY = "management-key-for-tests";

/**
 * Issue 15, acceptance 3: nodes that answer like CLIProxyAPI v6.9.x (LPOP only: no SUBSCRIBE, no
 * HTTP queue, a fixed 60 s retention), configured for subscribe and http mode. The bridge finds
 * out once per node, logs it clearly, drains the node with LPOP, and /healthz tells the operator.
 */
describe("bridge: a v6.9.x node (LPOP only) configured for another mode (issue 15, acceptance 3)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("is drained with LPOP after one clear log line, and /healthz reports it degraded", async () => {
    const topics = await createTopics(brokers, [
      { prefix: "bridge-old-node", numPartitions: 3 },
      { prefix: "bridge-old-node-dlq", numPartitions: 1 },
    ]);
    cleanups.push(() => topics.cleanup());
    const [topic = "", dlqTopic = ""] = topics.names;
    const modes: NodeMode[] = ["subscribe", "http"];
    const fakes: FakeCliProxyNode[] = [];
    const feeds = modes.map((mode, index) => [
      ...SEED_ERA,
      ...generatedPayloads(150, { prefix: `old-${mode}`, startSecond: 1_772_409_600 + index * 3_600 }),
    ]);
    for (const [index] of modes.entries()) {
      const fake = new FakeCliProxyNode({ managementKey: KEY, era: "v6.9" });
      await fake.listen();
      cleanups.push(() => fake.close());
      fakes.push(fake);
      // The seed-era payloads of both nodes are the same records: only one node gets them.
      for (const payload of (feeds[index] ?? []).slice(index === 0 ? 0 : SEED_ERA.length)) fake.enqueue(payload.json);
    }
    const nodes = modes.map((mode, index) => fakeNodeConfig(fakes[index]?.address ?? "", KEY, mode, `old-${mode}`));
    const { logger, lines } = recordingLogger();
    const running = startTestBridge({ brokers, topic, dlqTopic, nodes, logger });
    cleanups.push(() => running.close());
    const expected = modes.flatMap((_mode, index) =>
      (feeds[index] ?? []).slice(index === 0 ? 0 : SEED_ERA.length).map((payload) => fromNode(payload.expected, nodes[index]?.id ?? "")),
    );
    await eventually("every record of both nodes published", async () => {
      const published = (await running.bridge.metrics.published.get()).values.reduce((sum, value) => sum + value.value, 0);
      return published === expected.length;
    });

    // Found out once per node: one SUBSCRIBE, one request to the HTTP queue; the rest is LPOP.
    const [subscribeNode, httpNode] = fakes;
    expect(subscribeNode?.commands.filter((command) => command === "SUBSCRIBE")).toHaveLength(1);
    expect(httpNode?.httpRequests).toEqual(["GET /v0/management/usage-queue"]);
    expect(fakes.every((fake) => fake.handouts.every((handout) => handout.via === "lpop"))).toBe(true);
    // One error line per node, naming what was configured and what is used instead.
    const fallbacks = lines.filter((line) => line.code === "BRIDGE_MODE_UNSUPPORTED");
    expect(fallbacks.map((line) => [line.level, line.node, line.configured, line.drainedWith])).toEqual(
      expect.arrayContaining([
        [50, nodes[0]?.address, "subscribe", "lpop"],
        [50, nodes[1]?.address, "http", "lpop"],
      ]) as unknown[],
    );
    expect(fallbacks).toHaveLength(2);
    expect(String(fallbacks[0]?.msg)).toMatch(/cannot be drained in (subscribe|http) mode .*v6\.9\.x.*LPOP/);

    // /healthz: 503, each node degraded with the reason; the metric says it too.
    const app = buildBridgeApp({ health: () => running.bridge.health(), registry: running.bridge.metrics.registry });
    cleanups.push(() => app.close());
    const health = await app.inject({ method: "GET", url: "/healthz" });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toMatchObject({
      status: "degraded",
      nodes: [
        { mode: "subscribe", drainedWith: "lpop", healthy: false, fallback: expect.stringContaining("SUBSCRIBE") as string },
        { mode: "http", drainedWith: "lpop", healthy: false, fallback: expect.stringContaining("404") as string },
      ],
    });
    const metrics = await app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toContain(`bridge_mode_fallback{node="${nodes[0]?.address ?? ""}",configured="subscribe"} 1`);

    await running.close();
    expectSameRecordsOnce(decodeAll(await readWholeTopic(brokers, topic)), expected);
  });
});
