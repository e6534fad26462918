import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { BridgeHealth } from "./bridge";

/** Options of {@link buildBridgeApp}. */
export interface BridgeAppOptions {
  /** The bridge's health now (`bridge.health`). */
  readonly health: () => BridgeHealth;
  /** The registry `/metrics` serves (`bridge.metrics.registry`). */
  readonly registry: Registry;
}

/**
 * The bridge's HTTP surface, built apart from `listen` (tests use `inject`):
 * - `GET /healthz`: 200 `{status: "ok", nodes}` when every node is healthy, else 503 with the same
 *   body naming what is wrong (a refused key, a ban, publishing failing, reconnects failing).
 *   Meant for alerting and readiness, NOT for a liveness probe that restarts the bridge: a restart
 *   forgets the authentication backoff and spends one more of the node's 5 tolerated failures.
 * - `GET /livez`: 200 while the process serves requests.
 * - `GET /metrics`: Prometheus text format.
 */
export function buildBridgeApp(options: BridgeAppOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get("/healthz", async (_request, reply) => {
    const health = options.health();
    return reply.code(health.status === "ok" ? 200 : 503).send(health);
  });
  app.get("/livez", async () => ({ status: "ok" }));
  app.get("/metrics", async (_request, reply) => {
    const text = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(text);
  });
  return app;
}
