import Fastify, { LogController } from "fastify";
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { createSystemClock } from "@usage-ledger/statistics";
import type { Clock } from "@usage-ledger/statistics";
import { createWebDashboard } from "../insights/web-dashboard";
import type { WebDashboard } from "../insights/web-dashboard";
import { createManagementAuth } from "./auth";
import type { ManagementBackend } from "./backend";
import { registerCompatRoutes } from "./compat-routes";
import { registerCors } from "./cors";
import { dashboardAssets, registerDashboardAssets } from "./dashboard-assets";
import { ApiError, apiError, errorBody, goJsonString } from "./errors";
import { registerLedgerRoutes } from "./ledger-routes";
import { registerUsageRoutes } from "./usage-routes";

/** Build facts sent in CLIProxyAPI's version headers on every management response. */
export interface BuildInfo {
  /** `X-CPA-VERSION`: usage-ledger's version. */
  readonly version: string;
  /** `X-CPA-COMMIT`: the git commit, or `none` (CLIProxyAPI's default). */
  readonly commit: string;
  /** `X-CPA-BUILD-DATE`: when the running code was built (RFC 3339, UTC), or `unknown`. */
  readonly buildDate: string;
}

/** The HTTP settings of {@link buildApp}. */
export interface ApiConfig {
  /** The management key; undefined = none (every management request gets 403 "remote management key not set"). */
  readonly managementKey: string | undefined;
  /** Whether non-loopback clients may use the key (true when the operator configured one). */
  readonly allowRemoteManagement: boolean;
  /** Largest import body in bytes. */
  readonly bodyLimitBytes: number;
  readonly build: BuildInfo;
}

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  readonly aggregator: ManagementBackend;
  readonly config: ApiConfig;
  readonly logger: FastifyBaseLogger;
  /** "now" for `exported_at` (default: the system clock in UTC). */
  readonly clock?: Clock;
  /** Milliseconds since the epoch for the ban timer (default `Date.now`). */
  readonly nowMillis?: () => number;
  /** The web dashboard's backend (default: one over `aggregator` with the default prices, in memory). */
  readonly dashboard?: WebDashboard;
}

/** Content type of every JSON body, as gin's `c.JSON` sends it. */
const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** CLIProxyAPI's version header names. */
const VERSION_HEADERS = {
  version: "X-CPA-VERSION",
  commit: "X-CPA-COMMIT",
  buildDate: "X-CPA-BUILD-DATE",
} as const;

/** Sends an {@link ApiError} as `{"error": message}` with its status. */
function sendError(reply: FastifyReply, error: ApiError): FastifyReply {
  return reply.code(error.status).type(JSON_CONTENT_TYPE).send(errorBody(error));
}

function isBodyReadError(error: FastifyError): boolean {
  // Fastify's content-type-parser errors (too large, bad content-length, ...) and aborted streams.
  return (error.code ?? "").startsWith("FST_ERR_CTP_") || error.code === "ECONNRESET" || error.code === "ERR_STREAM_PREMATURE_CLOSE";
}

/**
 * Builds the HTTP API (not listening; `app.listen` or `app.inject`):
 * - `/v0/management/usage`, `/usage/export`, `/usage/import` (management key required; see auth.ts);
 * - `/v0/management/config` and CLIProxyAPI's empty lists, for the Management Center (compat-routes.ts);
 * - `/v0/management/ledger/v1/*`, the dashboard's API (ledger-routes.ts);
 * - `/` and `/assets/*`, the web dashboard (dashboard-assets.ts; the page asks for the key);
 * - `/healthz`, `/readyz`, `/metrics` (no key: probes and Prometheus).
 * CLIProxyAPI's CORS headers on every response (cors.ts).
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { aggregator, config } = options;
  const app = Fastify({
    loggerInstance: options.logger,
    // Per-request lines come from the onResponse hook below, at debug level.
    logController: new LogController({ disableRequestLogging: true }),
    // Forwarding headers are not trusted: the ban is keyed by the socket's peer address.
    trustProxy: false,
    bodyLimit: config.bodyLimitBytes,
  });
  const auth = createManagementAuth({
    key: config.managementKey,
    allowRemote: config.allowRemoteManagement,
    nowMillis: options.nowMillis ?? (() => Date.now()),
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ApiError) return sendError(reply, error);
    if (isBodyReadError(error)) {
      request.log.warn({ err: error }, "request body could not be read");
      return sendError(reply, apiError("API_BODY_UNREADABLE", { cause: error }));
    }
    request.log.error({ err: error, url: request.url }, "request failed");
    return sendError(reply, apiError("API_INTERNAL", { cause: error }));
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, apiError("API_NOT_FOUND")));
  app.addHook("onResponse", async (request: FastifyRequest, reply: FastifyReply) => {
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime }, "request");
  });
  registerCors(app);
  const dashboard =
    options.dashboard ?? createWebDashboard({ aggregator, ...(options.nowMillis === undefined ? {} : { nowMillis: options.nowMillis }) });
  registerDashboardAssets(app, await dashboardAssets());

  await app.register(
    async (management) => {
      // The import body is read raw, whatever its content type, and parsed here: as the seed's
      // handler reads it (c.GetRawData, then json.Unmarshal).
      management.removeAllContentTypeParsers();
      management.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: config.bodyLimitBytes }, (_request, body, done) => {
        done(null, body);
      });
      management.addHook("onRequest", async (request, reply) => {
        reply.header(VERSION_HEADERS.version, config.build.version);
        reply.header(VERSION_HEADERS.commit, config.build.commit);
        reply.header(VERSION_HEADERS.buildDate, config.build.buildDate);
        const denied = auth.check({
          clientIp: request.socket.remoteAddress ?? "",
          authorization: firstHeader(request, "authorization"),
          managementKey: firstHeader(request, "x-management-key"),
        });
        if (denied !== undefined) return sendError(reply, denied);
        return undefined;
      });
      registerUsageRoutes(management, { aggregator, clock: options.clock ?? createSystemClock() });
      registerCompatRoutes(management);
      registerLedgerRoutes(management, dashboard);
    },
    { prefix: "/v0/management" },
  );

  app.get("/healthz", async (_request, reply) => reply.type(JSON_CONTENT_TYPE).send(goJsonString({ status: "ok" })));

  app.get("/readyz", async (_request, reply) => {
    const report = aggregator.readiness();
    const body = { ready: report.ready, partitions: report.partitions.map((p) => ({ partition: p.partition, state: p.state })) };
    return reply
      .code(report.ready ? 200 : 503)
      .type(JSON_CONTENT_TYPE)
      .send(goJsonString(body));
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await aggregator.metrics.metrics();
    return reply.type(aggregator.metrics.contentType).send(text);
  });

  return app;
}

/** A header's first value: Node joins repeated custom headers with ", ", gin's GetHeader takes the first. */
function firstHeader(request: FastifyRequest, name: string): string | undefined {
  // light-my-request (app.inject) has no headersDistinct; its headers are not joined either.
  const distinct = (request.raw as { headersDistinct?: Record<string, string[] | undefined> }).headersDistinct;
  if (distinct !== undefined) return distinct[name]?.[0];
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
