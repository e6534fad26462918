import { request as httpRequest, type Agent, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BridgeError, errorMessage } from "./errors";
import type { NodeTls } from "./resp/resp-connection";

/** Options of {@link popHttpUsageQueue}. */
export interface HttpPopOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: NodeTls;
  /** The agent that keeps the connection alive between polls (an https.Agent with tls). */
  readonly agent?: Agent;
  readonly managementKey: string;
  /** Records to pop, >= 1. */
  readonly count: number;
  readonly timeoutMs: number;
  /** Largest response body accepted, bytes. */
  readonly maxBodyBytes: number;
}

/**
 * `GET /v0/management/usage-queue?count=N` with `Authorization: Bearer <key>`: a destructive pop
 * of up to N records, oldest first. Resolves with each record's JSON text (an array element that
 * is a JSON string is taken as the record's text as it is, an object is re-serialised).
 * Rejects with `BRIDGE_AUTH_FAILED` (401, or 403 other than a ban), `BRIDGE_NODE_BANNED` (403 ban),
 * `BRIDGE_MODE_UNSUPPORTED` (404: a node without the HTTP queue, such as CLIProxyAPI v6.9.x),
 * `BRIDGE_HTTP_ERROR` (other statuses; retryable for 5xx and 429), `BRIDGE_PROTOCOL_ERROR` (a body
 * that is not a JSON array), `BRIDGE_CONNECT_FAILED` or `BRIDGE_TIMEOUT`.
 */
export async function popHttpUsageQueue(options: HttpPopOptions): Promise<Buffer[]> {
  const { status, body } = await get(options);
  if (status === 200) return parseArray(body);
  const message = errorText(body);
  if (status === 401) throw new BridgeError("BRIDGE_AUTH_FAILED", `node refused the management key (HTTP 401): ${message}`);
  if (status === 403) {
    if (/banned/i.test(message)) throw new BridgeError("BRIDGE_NODE_BANNED", `node banned this address (HTTP 403): ${message}`);
    throw new BridgeError("BRIDGE_AUTH_FAILED", `node refused management access (HTTP 403): ${message}`);
  }
  if (status === 404) {
    throw new BridgeError(
      "BRIDGE_MODE_UNSUPPORTED",
      `the node has no HTTP usage queue (GET /v0/management/usage-queue answered 404: ${message})`,
    );
  }
  throw new BridgeError("BRIDGE_HTTP_ERROR", `GET /v0/management/usage-queue answered HTTP ${status}: ${message}`, {
    retryable: status >= 500 || status === 429,
  });
}

function get(options: HttpPopOptions): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = (options.tls === undefined ? httpRequest : httpsRequest)(
      {
        host: options.host,
        port: options.port,
        method: "GET",
        path: `/v0/management/usage-queue?count=${options.count}`,
        headers: { Authorization: `Bearer ${options.managementKey}`, Accept: "application/json" },
        timeout: options.timeoutMs,
        ...(options.agent === undefined ? {} : { agent: options.agent }),
        ...(options.tls === undefined
          ? {}
          : { ca: options.tls.ca, rejectUnauthorized: options.tls.rejectUnauthorized, servername: options.tls.servername }),
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBodyBytes) {
            request.destroy(new BridgeError("BRIDGE_PROTOCOL_ERROR", `usage-queue response larger than ${options.maxBodyBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
        response.on("error", (error) => reject(connectionError(error)));
      },
    );
    request.on("timeout", () =>
      request.destroy(new BridgeError("BRIDGE_TIMEOUT", `no answer from ${options.host}:${options.port} within ${options.timeoutMs} ms`)),
    );
    request.on("error", (error) => reject(connectionError(error)));
    request.end();
  });
}

function connectionError(error: Error): BridgeError {
  if (error instanceof BridgeError) return error;
  return new BridgeError("BRIDGE_CONNECT_FAILED", `usage-queue request failed: ${error.message}`, { cause: error });
}

function parseArray(body: Buffer): Buffer[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new BridgeError("BRIDGE_PROTOCOL_ERROR", `usage-queue response is not JSON: ${errorMessage(error)}`, { cause: error });
  }
  // A null body is how a Go handler writes an empty (nil) slice.
  if (json === null) return [];
  if (!Array.isArray(json)) throw new BridgeError("BRIDGE_PROTOCOL_ERROR", "usage-queue response is not a JSON array");
  return json.map((element: unknown) => Buffer.from(typeof element === "string" ? element : JSON.stringify(element), "utf8"));
}

function errorText(body: Buffer): string {
  const text = body.toString("utf8", 0, Math.min(body.length, 500));
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === "object" && json !== null && "error" in json && typeof json.error === "string") return json.error;
  } catch {
    // not JSON: the text itself
  }
  return text.trim() === "" ? "(empty body)" : text.trim();
}
