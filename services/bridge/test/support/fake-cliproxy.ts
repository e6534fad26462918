import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { encodeValue, RespDecoder, type RespValue } from "../../src/resp/resp-codec";

/**
 * A fake CLIProxyAPI node: the usage queue of its management port and the management-key ban, as
 * the real node's source has them (CLIProxyAPI v7.2.140 `internal/api/redis_queue_protocol.go`,
 * `internal/redisqueue/queue.go`, `internal/api/handlers/management/usage.go`; v6.9.49 for
 * `era: "v6.9"`), down to the reply bytes:
 *
 * - RESP (a connection whose first byte is `*`): `AUTH <key>` / `AUTH <user> <key>` first, else
 *   `-NOAUTH`; a refused key `-ERR invalid management key`; 5 refusals in a row from one address
 *   (loopback included) ban it for 30 minutes; a success resets the count, an idle count is
 *   forgotten after 2 hours. `LPOP usage [count]` / `RPOP usage [count]` pop the oldest: a bulk
 *   string or nil without count, an array (`*0` when empty) with count. `SUBSCRIBE usage`
 *   confirms and pushes `{"support_refresh":true}`, then every record as it is enqueued (and, on
 *   request, `{"refresh":true}`); then only PING (`[pong, arg]`), UNSUBSCRIBE and QUIT.
 * - The push buffer: pushes wait in a per-subscriber buffer of 256 until written (`pushDelayMs`, or
 *   while the socket is backed up). A record that finds the buffer full is lost and the subscriber
 *   dropped (what it buffered is still written, then the connection closes). UNSUBSCRIBE (and QUIT)
 *   end the subscription at once: what is still buffered is discarded, the reply written, the
 *   connection closed. While any subscriber is connected, records are broadcast and not queued.
 * - HTTP (any other first byte): `GET /v0/management/usage-queue?count=N` with the management key
 *   (`Authorization: Bearer` or `X-Management-Key`): a JSON array of the popped records.
 * - `era: "v6.9"` (v6.9.x): no SUBSCRIBE (`-ERR unknown command 'subscribe'`), no HTTP queue
 *   (404), retention fixed at 60 s.
 *
 * Ground truth for tests: every record handed out (`handouts`), with the connection, the mode, the
 * subscribe epoch at enqueue and handout, and whether the bridge confirmed having it: a reply of
 * LPOP or of the HTTP queue is confirmed by the next command (request) on the same connection
 * (the bridge sends it only after storing the reply), a push by `PING <n>` on its connection (the
 * bridge sends it once the first n pushes are stored).
 */
export interface FakeNodeOptions {
  managementKey: string;
  /** `v7` (default): CLIProxyAPI v7.2.140. `v6.9`: v6.9.49 (LPOP only, 60 s retention). */
  era?: "v7" | "v6.9";
  /** Reply to `LPOP usage <count>` when nothing is queued; default `"empty-array"` (`*0`, as the node). */
  emptyCountReply?: "nil" | "empty-array";
  /** Time for the ban logic, retention and the AUTH log; default Date.now. */
  now?: () => number;
  /** Asked before answering each pop (RESP or HTTP); default: no fault. */
  fault?: (pop: PopInfo) => Fault;
  /** Records older than this are dropped (`redis-usage-queue-retention-seconds`); default: kept (v6.9: 60 s). */
  retentionMs?: number;
  /** How long a push waits in the subscriber's buffer before it is written; default 0 (next turn of the event loop). */
  pushDelayMs?: number;
  /** Called right after a pop was answered (a test enqueues here what arrives "between the last LPOP and SUBSCRIBE"). */
  afterPop?: (pop: { readonly popped: number; readonly transport: "resp" | "http" }) => void;
  /** Called when a subscriber has left with `UNSUBSCRIBE`, before the fake replies. */
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

/** One record handed out. */
export interface Handout {
  readonly payload: Buffer;
  readonly via: "lpop" | "push" | "http";
  readonly connection: number;
  /** SUBSCRIBEs the fake had confirmed when the record was enqueued, and when it was handed out. */
  readonly enqueueEpoch: number;
  readonly handoutEpoch: number;
  /** Set once the bridge confirmed having stored it (see the class comment). */
  confirmed: boolean;
}

interface Queued {
  readonly payload: Buffer;
  readonly at: number;
  readonly epoch: number;
}

interface Subscriber {
  readonly socket: Socket;
  readonly connection: number;
  /** Pushes not written yet; `record` false for control payloads. */
  readonly buffer: Array<{ payload: Buffer; record: Queued | undefined }>;
  timer: NodeJS.Timeout | undefined;
  /** Pushes written (control ones included), and the handouts among them by their push number. */
  written: number;
  readonly pushes: Map<number, Handout>;
}

const SUBSCRIBER_BUFFER = 256;
const MAX_FAILURES = 5;
const BAN_MS = 30 * 60_000;
const IDLE_FORGET_MS = 2 * 60 * 60_000;
const V69_RETENTION_MS = 60_000;

export class FakeCliProxyNode {
  /** Every authentication attempt, in order. */
  readonly authAttempts: AuthAttempt[] = [];
  /** Records the fake handed out in full (a reply or push written completely). */
  readonly handedOut: Buffer[] = [];
  /** The same, with where and when, and whether the bridge confirmed having them. */
  readonly handouts: Handout[] = [];
  /** Records popped or broadcast that never reached the bridge (a cut reply, a discarded push buffer). */
  readonly lostInTransit: Buffer[] = [];
  /** Records dropped by the retention while queued. */
  readonly expired: Buffer[] = [];
  /** Every command name the fake received, in order (for protocol assertions). */
  readonly commands: string[] = [];
  /** Every HTTP request the fake received (`METHOD /path`). */
  readonly httpRequests: string[] = [];
  /** Times an address was banned. */
  bans = 0;
  /** SUBSCRIBE usage commands confirmed so far. */
  epoch = 0;

  private managementKey: string;
  private readonly options: FakeNodeOptions;
  private readonly now: () => number;
  private readonly queue: Queued[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private readonly sockets = new Set<Socket>();
  private readonly connectionIds = new WeakMap<Socket, number>();
  /** Replies (LPOP, HTTP) not confirmed yet, per connection. */
  private readonly unconfirmed = new Map<number, Handout[]>();
  private readonly failures = new Map<string, { count: number; last: number; bannedUntil: number }>();
  private readonly httpServer = createHttpServer((request, response) => this.onHttp(request, response));
  private server: Server | undefined;
  private pops = 0;
  private connections = 0;
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
    this.expire();
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
    const record: Queued = { payload: bytes, at: this.now(), epoch: this.epoch };
    if (this.subscribers.size > 0) {
      for (const subscriber of this.subscribers) this.push(subscriber, bytes, record);
      return;
    }
    this.expire();
    this.queue.push(record);
  }

  /** Sends `{"refresh":true}` to every subscriber. */
  refresh(): void {
    for (const subscriber of this.subscribers) this.push(subscriber, Buffer.from('{"refresh":true}'), undefined);
  }

  /** A network blip on every subscription: what is buffered is written first, then the connections close. */
  dropSubscribers(): number {
    const dropped = [...this.subscribers];
    for (const subscriber of dropped) {
      this.subscribers.delete(subscriber);
      this.writeBuffered(subscriber);
      subscriber.socket.end();
    }
    return dropped.length;
  }

  /** Closes every connection and stops listening (the queue is kept: a network outage, not a restart). */
  async goDown(): Promise<void> {
    for (const subscriber of this.subscribers) this.discard(subscriber);
    this.subscribers.clear();
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Closes everything. */
  async close(): Promise<void> {
    await this.goDown();
    this.httpServer.close();
  }

  private get era(): "v7" | "v6.9" {
    return this.options.era ?? "v7";
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    this.connections += 1;
    this.connectionIds.set(socket, this.connections);
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
    const connection = this.connectionIds.get(socket) ?? 0;
    let authenticated = false;
    let subscriber: Subscriber | undefined;
    const reply = (value: RespValue): void => {
      if (!socket.destroyed) socket.write(encodeValue(value));
    };
    const error = (message: string): void => reply({ type: "error", message });
    const bulk = (text: string): RespValue => ({ type: "bulk", value: Buffer.from(text) });
    const unknown = (name: string): void => error(`ERR unknown command '${name.toLowerCase()}'`);
    const handle = (value: RespValue): void => {
      const args =
        value.type === "array" && value.value !== null
          ? value.value.map((item) => (item.type === "bulk" && item.value !== null ? item.value.toString("utf8") : ""))
          : [];
      const name = (args[0] ?? "").toUpperCase();
      this.commands.push(name);
      this.confirmReplies(connection);
      if (subscriber !== undefined) {
        switch (name) {
          case "PING": {
            const stored = Number(args[1]);
            if (Number.isSafeInteger(stored)) {
              for (const [number, handout] of subscriber.pushes) {
                if (number > stored) continue;
                handout.confirmed = true;
                subscriber.pushes.delete(number);
              }
            }
            reply({ type: "array", value: [bulk("pong"), bulk(args[1] ?? "")] });
            return;
          }
          case "UNSUBSCRIBE":
          case "QUIT":
            // The node returns from the subscription loop: the subscriber's buffer is discarded,
            // the reply written, the connection closed.
            this.subscribers.delete(subscriber);
            this.discard(subscriber);
            subscriber = undefined;
            if (name === "UNSUBSCRIBE") this.options.onUnsubscribed?.();
            reply(
              name === "QUIT"
                ? { type: "simple", value: "OK" }
                : { type: "array", value: [bulk("unsubscribe"), bulk("usage"), { type: "integer", value: 0 }] },
            );
            socket.end();
            return;
          default:
            unknown(name);
            return;
        }
      }
      if (name !== "AUTH" && !authenticated) {
        const ban = this.banMessage(client);
        error(ban === undefined ? "NOAUTH Authentication required." : `ERR ${ban}`);
        return;
      }
      switch (name) {
        case "AUTH": {
          if (args.length !== 2 && args.length !== 3) {
            error("ERR wrong number of arguments for 'auth' command");
            return;
          }
          const outcome = this.checkKey(client, args[args.length - 1] ?? "", "resp");
          if (outcome === "ok") {
            authenticated = true;
            reply({ type: "simple", value: "OK" });
          } else if (outcome === "banned") {
            error(`ERR ${this.banMessage(client) ?? "IP banned"}`);
          } else {
            error("ERR invalid management key");
          }
          return;
        }
        case "LPOP":
        case "RPOP":
          this.pop(socket, connection, args, reply);
          return;
        case "SUBSCRIBE":
          if (this.era === "v6.9") {
            unknown(name);
            return;
          }
          if (args.length !== 2) {
            error("ERR wrong number of arguments for 'subscribe' command");
            return;
          }
          if ((args[1] ?? "").toLowerCase() !== "usage") {
            error(`ERR unsupported channel '${args[1] ?? ""}'`);
            return;
          }
          subscriber = { socket, connection, buffer: [], timer: undefined, written: 0, pushes: new Map() };
          this.epoch += 1;
          reply({ type: "array", value: [bulk("subscribe"), bulk("usage"), { type: "integer", value: 1 }] });
          this.subscribers.add(subscriber);
          {
            const joined = subscriber;
            socket.on("close", () => {
              if (this.subscribers.delete(joined)) this.discard(joined);
            });
            socket.on("drain", () => this.schedule(joined));
            this.push(joined, Buffer.from('{"support_refresh":true}'), undefined);
          }
          return;
        default:
          unknown(name);
      }
    };
    const onData = (chunk: Buffer): void => {
      let values: RespValue[];
      try {
        values = decoder.push(chunk);
      } catch {
        error("ERR protocol error");
        socket.destroy();
        return;
      }
      for (const value of values) {
        if (socket.destroyed || socket.writableEnded) return;
        handle(value);
      }
    };
    socket.on("data", onData);
    onData(first);
  }

  private pop(socket: Socket, connection: number, args: readonly string[], reply: (value: RespValue) => void): void {
    if (args.length !== 2 && args.length !== 3) {
      reply({ type: "error", message: `ERR wrong number of arguments for '${(args[0] ?? "").toLowerCase()}' command` });
      return;
    }
    const withCount = args.length === 3;
    const count = withCount ? (/^-?\d+$/.test(args[2] ?? "") ? Number(args[2]) : 0) : 1;
    if (!Number.isSafeInteger(count) || count <= 0) {
      reply({ type: "error", message: "ERR value is not an integer or out of range" });
      return;
    }
    if ((args[1] ?? "").toLowerCase() !== "usage") {
      reply({ type: "error", message: `ERR unsupported channel '${args[1] ?? ""}'` });
      return;
    }
    const fault = this.nextFault("resp");
    if (fault === "drop-before") {
      socket.destroy();
      return;
    }
    const popped = this.take(count);
    let value: RespValue;
    if (!withCount) value = { type: "bulk", value: popped[0]?.payload ?? null };
    else if (popped.length === 0) value = { type: "array", value: this.options.emptyCountReply === "nil" ? null : [] };
    else value = { type: "array", value: popped.map((item) => ({ type: "bulk", value: item.payload })) };
    const bytes = encodeValue(value);
    if (fault === "truncate" && popped.length > 0) {
      this.lostInTransit.push(...popped.map((item) => item.payload));
      socket.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => socket.destroy());
      return;
    }
    socket.write(bytes);
    for (const item of popped) this.handOut(item, "lpop", connection);
    if (fault === "drop-after") socket.end();
    this.options.afterPop?.({ popped: popped.length, transport: "resp" });
  }

  private onHttp(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://fake");
    this.httpRequests.push(`${request.method ?? "?"} ${url.pathname}`);
    const connection = this.connectionIds.get(request.socket) ?? 0;
    this.confirmReplies(connection);
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (url.pathname !== "/v0/management/usage-queue" || request.method !== "GET" || this.era === "v6.9") {
      // gin's answer to a route it does not have, before any key check.
      response.writeHead(404, { "Content-Type": "text/plain" });
      response.end("404 page not found");
      return;
    }
    const header = request.headers.authorization ?? "";
    const parts = header.split(" ");
    let provided = parts.length === 2 && parts[0]?.toLowerCase() === "bearer" ? (parts[1] ?? "") : header;
    if (provided === "") provided = String(request.headers["x-management-key"] ?? "");
    const client = request.socket.remoteAddress ?? "unknown";
    const outcome = this.checkKey(client, provided, "http");
    if (outcome === "banned") {
      send(403, { error: this.banMessage(client) ?? "IP banned" });
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
    const body = Buffer.from(`[${popped.map((item) => item.payload.toString("utf8")).join(",")}]`);
    if (fault === "truncate" && popped.length > 0) {
      this.lostInTransit.push(...popped.map((item) => item.payload));
      response.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(body.length) });
      response.write(body.subarray(0, Math.floor(body.length / 2)), () => request.socket.destroy());
      return;
    }
    for (const item of popped) this.handOut(item, "http", connection);
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(body);
    if (fault === "drop-after") response.once("finish", () => request.socket.end());
    this.options.afterPop?.({ popped: popped.length, transport: "http" });
  }

  private handOut(item: Queued, via: Handout["via"], connection: number): Handout {
    const handout: Handout = {
      payload: item.payload,
      via,
      connection,
      enqueueEpoch: item.epoch,
      handoutEpoch: this.epoch,
      confirmed: false,
    };
    this.handedOut.push(item.payload);
    this.handouts.push(handout);
    if (via !== "push") {
      const list = this.unconfirmed.get(connection) ?? [];
      list.push(handout);
      this.unconfirmed.set(connection, list);
    }
    return handout;
  }

  /** The bridge sends a command (request) only after it stored every earlier reply of the connection. */
  private confirmReplies(connection: number): void {
    for (const handout of this.unconfirmed.get(connection) ?? []) handout.confirmed = true;
    this.unconfirmed.delete(connection);
  }

  private nextFault(transport: "resp" | "http"): Fault {
    this.pops += 1;
    return this.options.fault?.({ index: this.pops, transport }) ?? "none";
  }

  private expire(): void {
    const retention = this.era === "v6.9" ? V69_RETENTION_MS : this.options.retentionMs;
    if (retention === undefined) return;
    const oldest = this.now() - retention;
    while ((this.queue[0]?.at ?? Number.POSITIVE_INFINITY) < oldest) {
      const gone = this.queue.shift();
      if (gone !== undefined) this.expired.push(gone.payload);
    }
  }

  private take(count: number): Queued[] {
    this.expire();
    return this.queue.splice(0, count);
  }

  /** A broadcast to one subscriber: into its buffer; a full buffer drops the subscriber and loses the record. */
  private push(subscriber: Subscriber, payload: Buffer, record: Queued | undefined): void {
    if (subscriber.socket.destroyed) return;
    if (subscriber.buffer.length >= SUBSCRIBER_BUFFER) {
      if (record !== undefined) this.lostInTransit.push(payload);
      // The node closes a full subscriber's channel: what it buffered is still written, then the connection ends.
      this.subscribers.delete(subscriber);
      this.writeBuffered(subscriber);
      subscriber.socket.end();
      return;
    }
    subscriber.buffer.push({ payload, record });
    this.schedule(subscriber);
  }

  private schedule(subscriber: Subscriber): void {
    if (subscriber.timer !== undefined || subscriber.buffer.length === 0) return;
    const delay = this.options.pushDelayMs ?? 0;
    subscriber.timer = setTimeout(() => {
      subscriber.timer = undefined;
      // A socket that is backed up blocks the node's writer: the rest waits for "drain".
      while (subscriber.buffer.length > 0 && !subscriber.socket.writableNeedDrain && !subscriber.socket.destroyed) {
        this.writeOne(subscriber);
      }
    }, delay);
  }

  private writeBuffered(subscriber: Subscriber): void {
    clearTimeout(subscriber.timer);
    subscriber.timer = undefined;
    while (subscriber.buffer.length > 0 && !subscriber.socket.destroyed) this.writeOne(subscriber);
  }

  private writeOne(subscriber: Subscriber): void {
    const next = subscriber.buffer.shift();
    if (next === undefined) return;
    subscriber.socket.write(
      encodeValue({
        type: "array",
        value: [
          { type: "bulk", value: Buffer.from("message") },
          { type: "bulk", value: Buffer.from("usage") },
          { type: "bulk", value: next.payload },
        ],
      }),
    );
    subscriber.written += 1;
    if (next.record !== undefined) subscriber.pushes.set(subscriber.written, this.handOut(next.record, "push", subscriber.connection));
  }

  /** The subscription ends: pushes not written yet are lost. */
  private discard(subscriber: Subscriber): void {
    clearTimeout(subscriber.timer);
    subscriber.timer = undefined;
    for (const item of subscriber.buffer.splice(0)) if (item.record !== undefined) this.lostInTransit.push(item.payload);
  }

  private banMessage(client: string): string | undefined {
    const entry = this.failures.get(client);
    const now = this.now();
    if (entry === undefined || entry.bannedUntil <= now) return undefined;
    const minutes = Math.ceil((entry.bannedUntil - now) / 60_000);
    return `IP banned due to too many failed attempts. Try again in ${minutes}m0s`;
  }

  /** The real node's check of a management key, with its per-address failure count and ban (loopback included). */
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
