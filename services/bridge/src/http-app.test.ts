import { describe, expect, it } from "vitest";
import type { BridgeHealth } from "./bridge";
import { buildBridgeApp } from "./http-app";
import { createBridgeMetrics } from "./metrics";
import type { NodeHealth } from "./node-worker";

const healthyNode: NodeHealth = {
  address: "10.0.0.5:8317",
  mode: "lpop",
  drainedWith: "lpop",
  status: "connected",
  healthy: true,
  fallback: null,
  lastSuccessAt: "2026-03-02T10:00:00.000Z",
  lastError: null,
  consecutiveAuthFailures: 0,
  nextAttemptAt: null,
  deliveryRetrying: false,
  spool: { records: 0, bytes: 0, memoryOnly: 0, full: false, failing: null, damaged: 0 },
};

describe("the bridge's HTTP app", () => {
  it("GET /healthz: 200 when every node is healthy, 503 naming the node otherwise", async () => {
    let health: BridgeHealth = { status: "ok", nodes: [healthyNode] };
    const metrics = createBridgeMetrics();
    const app = buildBridgeApp({ health: () => health, registry: metrics.registry });
    const ok = await app.inject({ method: "GET", url: "/healthz" });
    expect([ok.statusCode, ok.json()]).toEqual([200, health]);

    const refused: NodeHealth = {
      ...healthyNode,
      status: "auth-failed",
      healthy: false,
      lastError: {
        code: "BRIDGE_AUTH_FAILED",
        message: "node refused the management key: WRONGPASS invalid management key",
        at: "2026-03-02T10:01:00.000Z",
      },
      consecutiveAuthFailures: 2,
      nextAttemptAt: "2026-03-02T10:03:00.000Z",
    };
    health = { status: "degraded", nodes: [healthyNode, refused] };
    const degraded = await app.inject({ method: "GET", url: "/healthz" });
    expect([degraded.statusCode, degraded.json()]).toEqual([503, health]);
    await app.close();
  });

  it("GET /metrics: Prometheus text with the per-node series; GET /livez: 200", async () => {
    const metrics = createBridgeMetrics();
    metrics.popped.inc({ node: "10.0.0.5:8317" }, 7);
    metrics.published.inc({ node: "10.0.0.5:8317" }, 6);
    metrics.deadLettered.inc({ node: "10.0.0.5:8317", reason: "WIRE_INVALID_JSON" });
    metrics.lastSuccess.set({ node: "10.0.0.5:8317" }, 1_772_445_600);
    const app = buildBridgeApp({ health: () => ({ status: "ok", nodes: [] }), registry: metrics.registry });
    const response = await app.inject({ method: "GET", url: "/metrics" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/plain");
    for (const line of [
      'bridge_records_popped_total{node="10.0.0.5:8317"} 7',
      'bridge_records_published_total{node="10.0.0.5:8317"} 6',
      'bridge_records_dlq_total{node="10.0.0.5:8317",reason="WIRE_INVALID_JSON"} 1',
      'bridge_last_success_timestamp_seconds{node="10.0.0.5:8317"} 1772445600',
    ]) {
      expect(response.body.split("\n")).toContain(line);
    }
    const live = await app.inject({ method: "GET", url: "/livez" });
    expect([live.statusCode, live.json()]).toEqual([200, { status: "ok" }]);
    await app.close();
  });
});
