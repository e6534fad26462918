import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { encodeValue, RespDecoder, type RespValue } from "../../src/resp/resp-codec";

/**
 * A fake CLIProxyAPI node: the usage queue of its management port as
 * ../shared/seed/cliproxyapi-contracts.md (section 2) documents it, and the management-key ban of
 * the real node (5 failures in a row from one address → 30 minutes banned; a success resets the
 * count; an idle count is forgotten after 2 hours).
 *
 * - RESP (a connection whose first byte is `*`): `AUTH <key>` / `AUTH <user> <key>` first, else
 *   `-NOAUTH`; `LPOP usage [count]` / `RPOP usage [count]` pop the oldest: a bulk string or nil
 *   without count, an array (or, as configured, nil or an empty array when there is nothing) with
 *   count; `SUBSCRIBE usage` confirms, pushes `{"support_refresh":true}` first, then each record
 *   as it is enqueued (and, on request, `{"refresh":true}`); in subscribe mode only PING,
 *   UNSUBSCRIBE and QUIT; anything else is an unknown command.
 * - HTTP (any other first byte): `GET /v0/management/usage-queue?count=N` with the management key
 *   (`Authorization: Bearer` or `X-Management-Key`): a JSON array of the popped records.
 * - While any subscriber is connected, records are broadcast and not queued; a subscriber whose
 *   256-message buffer fills is dropped.
 *
 * Faults for tests come from `fault`, asked before each pop is answered.
 */
export interface FakeNodeOptions {
  managementKey: string;
  /** Reply to `LPOP usage <count>` when nothing is queued; default `"nil"` (`*-1`). */
  emptyCountReply?: "nil" | "empty-array";
  /** Time for the ban logic and the AUTH log; default Date.now. */
  now?: () => number;
  /** Asked before answering each pop (RESP or HTTP); default: no fault. */
  fault?: (pop: PopInfo) => Fault;
  /** Records older than this are dropped (`redis-usage-queue-retention-seconds`); default: kept. */
  retentionMs?: number;
  /**
   * Called when a subscriber has left with `UNSUBSCRIBE`, before the fake replies: what a test
   * enqueues here is queued, not pushed, whatever the bridge does next.
   */
  onUnsubscribed?: () => void;
}

/** A pop the fake is about to answer. */
interface PopInfo {
  /** 1-based count of pops the fake has been asked for, over all connections. */
  readonly index: number;
  readonly transport: "resp" | "http";
}

/**
 * `none`; `drop-before`: close without popping; `drop-after`: answer in full, then close;
 * `truncate`: pop, send half of the reply, close (the popped records are lost in transit, as on a
 * real node whose connection breaks while it writes).
 */
export type Fault = "none" | "drop-before" | "drop-after" | "truncate";

/** One authentication attempt the fake saw. */
export interface AuthAttempt {
  readonly at: number;
  readonly outcome: "ok" | "refused" | "banned";
  readonly transport: "resp" | "http";
}

interface Subscriber {
  readonly socket: Socket;
  backlog: number;
}

const SUBSCRIBER_BUFFER = 256;
const MAX_FAILURES = 5;
const BAN_MS = 30 * 60_000;
const IDLE_FORGET_MS = 2 * 60 * 60_000;

export class FakeCliProxyNode {
  /** Every authentication attempt, in order. */
  readonly authAttempts: AuthAttempt[] = [];
  /** Records the fake handed out in full (a reply or push written completely). */
  readonly handedOut: Buffer[] = [];
  /** Records popped whose reply was cut (fault `truncate`). */
  readonly lostInTransit: Buffer[] = [];
  /** Every command name the fake received, in order (for protocol assertions). */
  readonly commands: string[] = [];
  /** Times an address was banned. */
  bans = 0;

  private managementKey: string;
  private readonly options: FakeNodeOptions;
  private readonly now: () => number;
  private readonly queue: Array<{ payload: Buffer; at: number }> = [];
  private readonly subscribers = new Set<Subscriber>();
  private readonly sockets = new Set<Socket>();
  private readonly failures = new Map<string, { count: number; last: number; bannedUntil: number }>();
  private readonly httpServer = createHttpServer((request, response) => this.onHttp(request, response));
  private server: Server | undefined;
  private pops = 0;
  private boundPort = 0;

  constructor(options: FakeNodeOptions) {
    this.options = options;
    this.managementKey = options.managementKey;
    this.now = options.now ?? (() => Date.now());
  }

  /** Listens on 127.0.0.1 (the same port again after {@link goDown}); resolves with the port. */
  async listen(port = this.boundPort): Promise<number> {
    const server = createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    return this.boundPort;
  }

  /** `host:port` of the listener. */
  get address(): string {
    return `127.0.0.1:${this.boundPort}`;
  }

  /** Records waiting in the queue. */
  get queued(): number {
    return this.queue.length;
  }

  /** Connected subscribers. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Changes the management key (an operator fixing the node's config). */
  setManagementKey(key: string): void {
    this.managementKey = key;
  }

  /** A new usage record: broadcast to subscribers if any, else queued. */
  enqueue(payload: string | Buffer): void {
    const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
    if (this.subscribers.size > 0) {
      for (const subscriber of this.subscribers) this.push(subscriber, bytes, true);
      return;
    }
    this.queue.push({ payload: bytes, at: this.now() });
  }

  /** Sends `{"refresh":true}` to every subscriber. */
  refresh(): void {
    for (const subscriber of this.subscribers) this.push(subscriber, Buffer.from('{"refresh":true}'), false);
  }

  /** Closes every connection and stops listening (the queue is kept: a network outage, not a restart). */
  async goDown(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.subscribers.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Closes everything. */
  async close(): Promise<void> {
    await this.goDown();
    this.httpServer.close();
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.once("data", (first: Buffer) => {
      if (first[0] === 0x2a) {
        this.serveResp(socket, first);
      } else {
        // HTTP on the same port: hand the socket to the HTTP server with its first bytes put back.
        socket.pause();
        socket.unshift(first);
        this.httpServer.emit("connection", socket);
        socket.resume();
      }
    });
  }

  private serveResp(socket: Socket, first: Buffer): void {
    const decoder = new RespDecoder();
    const client = socket.remoteAddress ?? "unknown";
    let authenticated = false;
    let subscriber: Subscriber | undefined;
    const reply = (value: RespValue): void => {
      if (!socket.destroyed) socket.write(encodeValue(value));
    };
    const error = (message: string): void => reply({ type: "error", message });
    const bulk = (text: string): RespValue => ({ type: "bulk", value: Buffer.from(text) });
    const handle = (value: RespValue): void => {
      const args =
        value.type === "array" && value.value !== null
          ? value.value.map((item) => (item.type === "bulk" && item.value !== null ? item.value.toString("utf8") : ""))
          : [];
      const name = (args[0] ?? "").toUpperCase();
      this.commands.push(name);
      if (subscriber !== undefined) {
        switch (name) {
          case "PING":
            reply({ type: "array", value: [bulk("pong"), bulk(args[1] ?? "")] });
            return;
          case "UNSUBSCRIBE":
            this.subscribers.delete(subscriber);
            subscriber = undefined;
            this.options.onUnsubscribed?.();
            reply({ type: "array", value: [bulk("unsubscribe"), bulk("usage"), { type: "integer", value: 0 }] });
            return;
          case "QUIT":
            reply({ type: "simple", value: "OK" });
            socket.end();
            return;
          default:
            error(`ERR Can't execute '${name.toLowerCase()}': only PING, UNSUBSCRIBE and QUIT are allowed in subscribe mode`);
            return;
        }
      }
      if (name === "QUIT") {
        reply({ type: "simple", value: "OK" });
        socket.end();
        return;
      }
      if (name === "AUTH") {
        if (args.length !== 2 && args.length !== 3) {
          error("ERR wrong number of arguments for 'auth' command");
          return;
        }
        const outcome = this.checkKey(client, args[args.length - 1] ?? "", "resp");
        if (outcome === "ok") {
          authenticated = true;
          reply({ type: "simple", value: "OK" });
        } else if (outcome === "banned") {
          error("ERR IP banned due to too many failed attempts. Try again in 30m0s");
        } else {
          error("WRONGPASS invalid management key");
        }
        return;
      }
      if (!authenticated) {
        error("NOAUTH Authentication required.");
        return;
      }
      switch (name) {
        case "PING":
          reply({ type: "simple", value: "PONG" });
          return;
        case "LPOP":
        case "RPOP":
          this.pop(socket, args, reply);
          return;
        case "SUBSCRIBE":
          if (args.length < 2) {
            error("ERR wrong number of arguments for 'subscribe' command");
            return;
          }
          subscriber = { socket, backlog: 0 };
          reply({ type: "array", value: [bulk("subscribe"), bulk(args[1] ?? ""), { type: "integer", value: 1 }] });
          if ((args[1] ?? "") === "usage") {
            this.subscribers.add(subscriber);
            const joined = subscriber;
            socket.on("close", () => this.subscribers.delete(joined));
            socket.on("drain", () => {
              joined.backlog = 0;
            });
            this.push(subscriber, Buffer.from('{"support_refresh":true}'), false);
          }
          return;
        default:
          error(
            `ERR unknown command '${args[0] ?? ""}', with args beginning with: ${args
              .slice(1, 3)
              .map((arg) => `'${arg}' `)
              .join("")}`,
          );
      }
    };
    const onData = (chunk: Buffer): void => {
      let values: RespValue[];
      try {
        values = decoder.push(chunk);
      } catch {
        error("ERR Protocol error");
        socket.destroy();
        return;
      }
      for (const value of values) {
        if (socket.destroyed) return;
        handle(value);
      }
    };
    socket.on("data", onData);
    onData(first);
  }

  private pop(socket: Socket, args: readonly string[], reply: (value: RespValue) => void): void {
    const withCount = args.length >= 3;
    let count = 1;
    if (withCount) {
      count = /^-?\d+$/.test(args[2] ?? "") ? Number(args[2]) : Number.NaN;
      if (!Number.isSafeInteger(count) || count <= 0) {
        reply({ type: "error", message: "ERR value is out of range, must be positive" });
        return;
      }
    }
    const fault = this.nextFault("resp");
    if (fault === "drop-before") {
      socket.destroy();
      return;
    }
    const popped = (args[1] ?? "") === "usage" ? this.take(count) : [];
    let value: RespValue;
    if (!withCount) value = { type: "bulk", value: popped[0] ?? null };
    else if (popped.length === 0) value = { type: "array", value: this.options.emptyCountReply === "empty-array" ? [] : null };
    else value = { type: "array", value: popped.map((payload) => ({ type: "bulk", value: payload })) };
    const bytes = encodeValue(value);
    if (fault === "truncate" && popped.length > 0) {
      this.lostInTransit.push(...popped);
      socket.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => socket.destroy());
      return;
    }
    socket.write(bytes);
    this.handedOut.push(...popped);
    if (fault === "drop-after") socket.end();
  }

  private onHttp(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://fake");
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (url.pathname !== "/v0/management/usage-queue" || request.method !== "GET") {
      send(404, { error: "not found" });
      return;
    }
    const header = request.headers.authorization ?? "";
    const parts = header.split(" ");
    let provided = parts.length === 2 && parts[0]?.toLowerCase() === "bearer" ? (parts[1] ?? "") : header;
    if (provided === "") provided = String(request.headers["x-management-key"] ?? "");
    const client = request.socket.remoteAddress ?? "unknown";
    const outcome = this.checkKey(client, provided, "http");
    if (outcome === "banned") {
      send(403, { error: "IP banned due to too many failed attempts. Try again in 30m0s" });
      return;
    }
    if (outcome === "refused") {
      send(401, { error: provided === "" ? "missing management key" : "invalid management key" });
      return;
    }
    const countText = url.searchParams.get("count") ?? "1";
    const count = /^-?\d+$/.test(countText) ? Number(countText) : Number.NaN;
    if (!Number.isSafeInteger(count) || count <= 0) {
      send(400, { error: "count must be a positive integer" });
      return;
    }
    const fault = this.nextFault("http");
    if (fault === "drop-before") {
      request.socket.destroy();
      return;
    }
    const popped = this.take(count);
    const body = Buffer.from(`[${popped.map((payload) => payload.toString("utf8")).join(",")}]`);
    if (fault === "truncate" && popped.length > 0) {
      this.lostInTransit.push(...popped);
      response.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(body.length) });
      response.write(body.subarray(0, Math.floor(body.length / 2)), () => request.socket.destroy());
      return;
    }
    this.handedOut.push(...popped);
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(body);
    if (fault === "drop-after") response.once("finish", () => request.socket.end());
  }

  private nextFault(transport: "resp" | "http"): Fault {
    this.pops += 1;
    return this.options.fault?.({ index: this.pops, transport }) ?? "none";
  }

  private take(count: number): Buffer[] {
    if (this.options.retentionMs !== undefined) {
      const oldest = this.now() - this.options.retentionMs;
      while ((this.queue[0]?.at ?? Number.POSITIVE_INFINITY) < oldest) this.queue.shift();
    }
    return this.queue.splice(0, count).map((item) => item.payload);
  }

  private push(subscriber: Subscriber, payload: Buffer, isRecord: boolean): void {
    if (subscriber.socket.destroyed) return;
    if (subscriber.socket.writableNeedDrain) {
      subscriber.backlog += 1;
      if (subscriber.backlog > SUBSCRIBER_BUFFER) {
        // The real node drops a subscriber whose buffer is full, silently.
        this.subscribers.delete(subscriber);
        subscriber.socket.destroy();
        if (isRecord) this.lostInTransit.push(payload);
        return;
      }
    }
    subscriber.socket.write(
      encodeValue({
        type: "array",
        value: [
          { type: "bulk", value: Buffer.from("message") },
          { type: "bulk", value: Buffer.from("usage") },
          { type: "bulk", value: payload },
        ],
      }),
    );
    if (isRecord) this.handedOut.push(payload);
  }

  /** The real node's check of a management key, with its per-address failure count and ban. */
  private checkKey(client: string, provided: string, transport: "resp" | "http"): "ok" | "refused" | "banned" {
    const now = this.now();
    const entry = this.failures.get(client);
    if (entry !== undefined && now - entry.last > IDLE_FORGET_MS && entry.bannedUntil <= now) this.failures.delete(client);
    const current = this.failures.get(client);
    if (current !== undefined && current.bannedUntil > now) {
      this.authAttempts.push({ at: now, outcome: "banned", transport });
      return "banned";
    }
    if (current !== undefined && current.bannedUntil > 0) {
      current.bannedUntil = 0;
      current.count = 0;
    }
    if (provided !== this.managementKey) {
      this.authAttempts.push({ at: now, outcome: "refused", transport });
      this.recordFailure(client);
      return "refused";
    }
    this.failures.delete(client);
    this.authAttempts.push({ at: now, outcome: "ok", transport });
    return "ok";
  }

  private recordFailure(client: string): void {
    const now = this.now();
    const entry = this.failures.get(client) ?? { count: 0, last: now, bannedUntil: 0 };
    entry.count += 1;
    entry.last = now;
    if (entry.count >= MAX_FAILURES) {
      entry.bannedUntil = now + BAN_MS;
      entry.count = 0;
      this.bans += 1;
    }
    this.failures.set(client, entry);
  }
}
