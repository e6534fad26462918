import type { FastifyInstance } from "fastify";
import { goJsonString } from "./errors";

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * `GET /v0/management/config`: the Management Center's login check. CLIProxyAPI answers its whole
 * configuration; the ledger has no proxy configuration, so it answers the keys the Management
 * Center reads with the values that describe the ledger (usage statistics on, nothing to route,
 * no request log) and never a secret.
 */
export const LEDGER_CONFIG = {
  debug: false,
  "logging-to-file": false,
  "usage-statistics-enabled": true,
  "request-log": false,
  "request-retry": 0,
  "proxy-url": "",
  "ws-auth": false,
  "api-keys": [],
  "gemini-api-key": [],
  "claude-api-key": [],
  "codex-api-key": [],
  "vertex-api-key": [],
  "openai-compatibility": [],
} as const;

/**
 * Routes of CLIProxyAPI's management API that the ledger has no data for, answered in
 * CLIProxyAPI's empty shapes (the Management Center's pages then show empty lists instead of errors).
 */
const EMPTY_LISTS: ReadonlyArray<readonly [path: string, key: string]> = [
  ["/api-keys", "api-keys"],
  ["/auth-files", "files"],
  ["/openai-compatibility", "openai-compatibility"],
  ["/gemini-api-key", "gemini-api-key"],
  ["/claude-api-key", "claude-api-key"],
  ["/codex-api-key", "codex-api-key"],
  ["/vertex-api-key", "vertex-api-key"],
];

/** Registers `/config` and the empty lists on the management scope (behind the key). */
export function registerCompatRoutes(scope: FastifyInstance): void {
  scope.get("/config", async (_request, reply) => reply.type(JSON_TYPE).send(goJsonString(LEDGER_CONFIG)));
  for (const [path, key] of EMPTY_LISTS) {
    scope.get(path, async (_request, reply) => reply.type(JSON_TYPE).send(goJsonString({ [key]: [] })));
  }
}
