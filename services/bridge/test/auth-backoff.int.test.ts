import { afterEach, describe, expect, inject, it } from "vitest";
import { DEFAULT_AUTH_POLICY } from "../src/auth-guard";
import { DEFAULT_TUNING } from "../src/bridge";
import { buildBridgeApp } from "../src/http-app";
import type { NodeMode } from "../src/node-worker";
import { RespConnection } from "../src/resp/resp-connection";
import { FakeCliProxyNode, type AuthAttempt } from "./support/fake-cliproxy";
import { createTopics, eventually, fakeNodeConfig, startTestBridge, virtualClock, type TestBridge } from "./support/helpers";
import { generatedPayloads } from "./support/payloads";

const brokers = inject("kafkaBrokers");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The most attempts that fall into any window of `windowMs` ending at an attempt. */
function mostAttemptsInAnyWindow(attempts: readonly AuthAttempt[], windowMs: number): number {
  return Math.max(
    0,
    ...attempts.map((last) => attempts.filter((attempt) => attempt.at > last.at - windowMs && attempt.at <= last.at).length),
  );
}

/**
 * Acceptance 3: a wrong management key gives a clear error and a slow, bounded retry: at most
 * the documented number of attempts per minute, and never enough failures in a row for the node
 * to ban the address. Runs hours of the bridge's scheduling on a virtual clock (the fake node reads
 * the same clock), so nothing here waits for real time.
 */
describe("bridge: wrong management key (acceptance 3)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(nodeKey: string) {
    const topics = await createTopics(brokers, [
      { prefix: "bridge-auth", numPartitions: 1 },
      { prefix: "bridge-auth-dlq", numPartitions: 1 },
    ]);
    cleanups.push(() => topics.cleanup());
    const [topic = "", dlqTopic = ""] = topics.names;
    const clock = virtualClock();
    const fake = new FakeCliProxyNode({ managementKey: nodeKey, now: () => clock.now() });
    await fake.listen();
    cleanups.push(() => fake.close());
    const startBridge = (mode: NodeMode, bridgeKey: string) => {
      const node = fakeNodeConfig(fake.address, bridgeKey, mode);
      // The documented policy as it ships; only the polls are short.
      const running: TestBridge = startTestBridge({
        brokers,
        topic,
        dlqTopic,
        nodes: [node],
        clock,
        tuning: { auth: DEFAULT_AUTH_POLICY, reconnect: DEFAULT_TUNING.reconnect },
      });
      cleanups.push(() => running.close());
      return { node, running };
    };
    return { clock, fake, startBridge };
  }

  it.each([["lpop" as const], ["http" as const]])(
    "%s: a wrong key is retried slowly, reported, and never gets the address banned",
    async (mode) => {
      const { clock, fake, startBridge } = await setup("the-node-key");
      const { node, running } = startBridge(mode, "a-wrong-key");
      // Ten hours of the bridge's (virtual) time, then it waits at the horizon: its state holds still.
      const begin = clock.now();
      clock.setHorizon(begin + 10 * HOUR);
      await eventually("ten hours of (virtual) retrying", () => clock.blocked);

      const attempts = [...fake.authAttempts];
      // The documented schedule, attempt for attempt: 0, 30 s, 2.5 min, 10.5 min, then one per lockout.
      const { retryDelaysMs, lockoutMs } = DEFAULT_AUTH_POLICY;
      const scheduled = retryDelaysMs.reduce((sum, delay) => sum + delay, 0);
      expect(attempts).toHaveLength(1 + retryDelaysMs.length + Math.floor((10 * HOUR - scheduled) / lockoutMs));
      expect(attempts.every((attempt) => attempt.outcome === "refused")).toBe(true);
      // The documented limit: at most 2 attempts in any minute ...
      expect(mostAttemptsInAnyWindow(attempts, DEFAULT_AUTH_POLICY.windowMs)).toBeLessThanOrEqual(DEFAULT_AUTH_POLICY.maxAttemptsPerWindow);
      // ... spaced by the documented delays (30 s, 2 min, 8 min), then the lockout (3 h) ...
      const gaps = attempts.slice(1).map((attempt, index) => attempt.at - (attempts[index]?.at ?? 0));
      const floors = gaps.map((_, index) => DEFAULT_AUTH_POLICY.retryDelaysMs[index] ?? DEFAULT_AUTH_POLICY.lockoutMs);
      expect(gaps.map((gap, index) => gap >= (floors[index] ?? 0))).toEqual(gaps.map(() => true));
      // ... so the node never banned the address.
      expect(fake.bans).toBe(0);
      expect(mostAttemptsInAnyWindow(attempts, 30 * MINUTE)).toBeLessThan(5);

      // Reported clearly: health, metrics, error code.
      const health = running.bridge.health();
      expect(health.status).toBe("degraded");
      expect(health.nodes[0]).toMatchObject({
        address: node.address,
        status: "auth-failed",
        healthy: false,
        lastError: { code: "BRIDGE_AUTH_FAILED" },
      });
      expect(health.nodes[0]?.consecutiveAuthFailures).toBe(attempts.length);
      const app = buildBridgeApp({ health: () => running.bridge.health(), registry: running.bridge.metrics.registry });
      const response = await app.inject({ method: "GET", url: "/healthz" });
      expect(response.statusCode).toBe(503);
      expect(JSON.stringify(response.json())).not.toContain("a-wrong-key");
      const metrics = await app.inject({ method: "GET", url: "/metrics" });
      expect(metrics.body).toContain(`bridge_auth_failures_total{node="${node.address}",reason="refused"} ${attempts.length}`);
      expect(metrics.body).toContain(`bridge_node_up{node="${node.address}"} 0`);

      // The operator fixes the key on the node: the next scheduled attempt succeeds and records flow.
      fake.setManagementKey("a-wrong-key");
      clock.setHorizon(Number.POSITIVE_INFINITY);
      const payloads = generatedPayloads(30, { prefix: `auth-fixed-${mode}` });
      for (const payload of payloads) fake.enqueue(payload.json);
      await eventually("records flow after the key is fixed", async () => {
        const published = (await running.bridge.metrics.published.get()).values.reduce((sum, value) => sum + value.value, 0);
        return published === payloads.length;
      });
      expect(fake.authAttempts.at(-1)?.outcome).toBe("ok");
      expect(running.bridge.health()).toMatchObject({ status: "ok", nodes: [{ status: "connected", healthy: true }] });
      expect(fake.bans).toBe(0);
    },
  );

  it("a node that has already banned the address is left alone until the ban is over", async () => {
    const { fake, startBridge } = await setup("the-node-key");
    // Another tool on this host got the address banned before the bridge (5 wrong keys in a row).
    const [host = "", port = ""] = fake.address.split(":");
    const tool = await RespConnection.open({ host, port: Number(port), connectTimeoutMs: 5_000 });
    for (let attempt = 0; attempt < 5; attempt += 1) await tool.command(["AUTH", "someone-elses-typo"], 5_000);
    tool.close();
    expect(fake.bans).toBe(1);
    const before = fake.authAttempts.length;

    const { running } = startBridge("lpop", "the-node-key");
    const payloads = generatedPayloads(10, { prefix: "after-ban" });
    for (const payload of payloads) fake.enqueue(payload.json);
    await eventually("records flow once the ban is over", async () => {
      const published = (await running.bridge.metrics.published.get()).values.reduce((sum, value) => sum + value.value, 0);
      return published === payloads.length;
    });
    const bridgeAttempts = fake.authAttempts.slice(before);
    expect(bridgeAttempts.map((attempt) => attempt.outcome)).toEqual(["banned", "ok"]);
    expect((bridgeAttempts[1]?.at ?? 0) - (bridgeAttempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(DEFAULT_AUTH_POLICY.bannedWaitMs);
    const failures = (await running.bridge.metrics.authFailures.get()).values.filter((value) => value.labels.reason === "banned");
    expect(failures.map((value) => value.value)).toEqual([1]);
  });
});
