import type { AuthGuard } from "./auth-guard";
import { BridgeError, isBridgeError } from "./errors";
import type { BridgeLogger } from "./logger";
import type { BridgeMetrics } from "./metrics";
import type { BridgeTuning, NodeConfig } from "./node-worker";
import { describeValue, type RespValue } from "./resp/resp-codec";
import { arrayItems, RespConnection } from "./resp/resp-connection";
import type { SchedulerClock } from "./clock";
import type { Spool } from "./spool/spool";

/** What the RESP intake needs from its node's worker. */
export interface IntakeContext {
  readonly node: NodeConfig;
  readonly tuning: BridgeTuning;
  readonly guard: AuthGuard;
  readonly metrics: BridgeMetrics;
  readonly logger: BridgeLogger;
  readonly clock: SchedulerClock;
  readonly spool: Spool;
  /**
   * Appends messages just taken from the node to the spool (at once, before anything else) and
   * resolves once they are on stable storage; rejects when the spool could not keep them (they
   * are then held in memory and published from there).
   */
  store(messages: readonly Buffer[]): Promise<void>;
  /** The node is connected and authenticated. */
  connected(): void;
  /** The node refused the configured mode's command: drain it with LPOP from now on. */
  fallBack(reason: string): void;
  /** Called once each time the spool turns full (the intake stops taking records until it has room). */
  spoolFull(): void;
}

/**
 * Reads a node's usage queue over RESP (the management port): `lpop` mode pops in a loop;
 * `subscribe` mode subscribes first and then drains what the node had queued with LPOP on a second
 * connection, so nothing pushed around the switch waits for a later drain (see README.md, "Modes").
 */
export class RespIntake {
  private readonly context: IntakeContext;

  constructor(context: IntakeContext) {
    this.context = context;
  }

  /** lpop mode: one connection, `LPOP usage <batchSize>` until `intake` aborts. */
  async lpop(intake: AbortSignal): Promise<void> {
    const connection = await this.open(intake);
    try {
      this.context.connected();
      await this.popUntil(connection, intake, "stopped");
    } finally {
      connection.close();
    }
  }

  /**
   * subscribe mode, one session: `SUBSCRIBE usage` on one connection, then `LPOP` on a second until
   * the queue is empty (records pushed meanwhile arrive on the first), then pushed records until
   * `intake` aborts, the connection ends (an error: the caller reconnects), or the spool is full
   * (the session leaves with UNSUBSCRIBE, waits until the spool has room, and returns so that the
   * caller starts the next one). A node that does not know SUBSCRIBE is drained with LPOP instead.
   */
  async subscribe(intake: AbortSignal): Promise<void> {
    const { tuning, spool, logger } = this.context;
    await spool.waitForRoom(intake);
    const connection = await this.open(intake);
    const pushes = new PushIntake(this.context, connection);
    try {
      try {
        await connection.subscribe("usage", tuning.commandTimeoutMs, (channel, payload) => pushes.receive(channel, payload));
      } catch (error) {
        if (!isBridgeError(error, "BRIDGE_COMMAND_ERROR") || !/unknown command/i.test(error.message)) throw error;
        this.context.fallBack(`the node does not know SUBSCRIBE (${error.message})`);
        this.context.connected();
        await this.popUntil(connection, intake, "stopped");
        return;
      }
      this.context.connected();
      const drain = await this.open(intake);
      try {
        await this.popUntil(drain, intake, "empty");
        await drain.command(["QUIT"], tuning.commandTimeoutMs).catch(() => undefined);
      } finally {
        drain.close();
      }
      const ending = await pushes.until(intake);
      if (ending === "spool-full") {
        this.context.spoolFull();
        logger.warn(
          { records: spool.pendingRecords },
          "the spool is full: leaving subscribe mode (the node queues records meanwhile) until Kafka has taken records",
        );
      }
      // The node ends the subscription, discards what it still buffered for it, and closes the
      // connection: the records it broadcasts from then on are queued for the next drain.
      await connection.unsubscribe("usage", tuning.commandTimeoutMs).catch(() => undefined);
      await pushes.settled();
      if (ending === "spool-full") await spool.waitForRoom(intake);
    } finally {
      pushes.stop();
      connection.close();
    }
  }

  /** Connects and authenticates (the auth guard counts the attempt); the caller closes the connection. */
  private async open(intake: AbortSignal): Promise<RespConnection> {
    const { node, tuning, guard, clock, metrics } = this.context;
    const connection = await RespConnection.open({
      host: node.host,
      port: node.port,
      tls: node.tls,
      connectTimeoutMs: tuning.connectTimeoutMs,
      signal: intake,
    });
    try {
      guard.recordAttempt(clock.now());
      metrics.authAttempts.inc({ node: node.address });
      const reply = await connection.command(["AUTH", node.managementKey], tuning.commandTimeoutMs);
      if (reply.type === "simple" && reply.value.toUpperCase() === "OK") {
        guard.recordSuccess();
        return connection;
      }
      if (reply.type === "error") throw refusal(reply.message);
      throw new BridgeError("BRIDGE_PROTOCOL_ERROR", `unexpected reply to AUTH: ${describeValue(reply)}`);
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  /**
   * `LPOP usage <batchSize>` in a loop, each batch stored in the spool before the next LPOP (so the
   * next command tells the node the previous reply arrived). `stopped`: until `intake` aborts,
   * polling every `pollIntervalMs` when the queue is empty; `empty`: until a pop returns less than
   * a full batch (the queue was empty then). Never pops while the spool is full.
   */
  private async popUntil(connection: RespConnection, intake: AbortSignal, until: "stopped" | "empty"): Promise<void> {
    const { tuning, spool, clock } = this.context;
    while (!intake.aborted) {
      if (spool.full) {
        this.context.spoolFull();
        await spool.waitForRoom(intake);
      }
      const reply = await connection.command(["LPOP", "usage", String(tuning.batchSize)], tuning.commandTimeoutMs);
      const messages = popReply(reply);
      if (messages.length > 0) {
        try {
          await this.context.store(messages);
        } catch {
          // Held in memory only (the spool failed): pop no more until Kafka has them.
          await spool.waitForMemoryOnly(intake);
        }
      }
      if (until === "empty" && messages.length < tuning.batchSize) return;
      if (messages.length === 0) await clock.sleep(tuning.pollIntervalMs, intake);
    }
  }
}

/** Interval between two PINGs that tell the node how many pushes are safely stored. */
const CONFIRM_INTERVAL_MS = 100;

/**
 * The pushes of one subscription: those decoded from one read of the socket are stored in the
 * spool together, at once. Once they are on stable storage, `PING <count>` (at most every 100 ms,
 * and every `pingIntervalMs` anyway, which also finds a dead connection) tells the node how many
 * pushes of this connection are stored; the node echoes it and ignores it otherwise.
 */
class PushIntake {
  private readonly context: IntakeContext;
  private readonly connection: RespConnection;
  private readonly received: Buffer[] = [];
  private flushing = false;
  private stored = 0;
  private confirmed = 0;
  private lastConfirmAt = Number.NEGATIVE_INFINITY;
  private confirming: Promise<unknown> = Promise.resolve();
  private writes: Array<Promise<void>> = [];
  private wake: (() => void) | undefined;
  private readonly keepalive = new AbortController();

  constructor(context: IntakeContext, connection: RespConnection) {
    this.context = context;
    this.connection = connection;
  }

  receive(channel: string, payload: Buffer): void {
    if (channel !== "usage") return;
    this.received.push(payload);
    if (this.flushing) return;
    this.flushing = true;
    // Everything decoded from this read of the socket goes into one spool entry.
    queueMicrotask(() => this.flush());
  }

  /** Waits for the end of the subscription: `intake` aborted, the spool full, or the connection closed (thrown). */
  async until(intake: AbortSignal): Promise<"stopped" | "spool-full"> {
    void this.keepAlive();
    const notify = (): void => this.notify();
    this.connection.onClose(notify);
    intake.addEventListener("abort", notify, { once: true });
    try {
      for (;;) {
        if (intake.aborted) return "stopped";
        if (this.context.spool.full) return "spool-full";
        if (!this.connection.isOpen) throw await this.connection.closed();
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      intake.removeEventListener("abort", notify);
    }
  }

  /** Resolves once every push received so far is stored (or held in memory). */
  async settled(): Promise<void> {
    this.flush();
    await Promise.allSettled(this.writes);
  }

  stop(): void {
    this.keepalive.abort();
    this.notify();
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = undefined;
    waiting?.();
  }

  private flush(): void {
    this.flushing = false;
    const messages = this.received.splice(0);
    if (messages.length === 0) return;
    const write = this.context.store(messages).then(
      () => {
        this.stored += messages.length;
        this.confirm(false);
      },
      // Held in memory only: not confirmed to the node.
      () => undefined,
    );
    this.writes.push(write);
    void write.finally(() => {
      this.writes = this.writes.filter((pending) => pending !== write);
    });
    this.notify();
  }

  private confirm(always: boolean): void {
    const now = this.context.clock.now();
    if (!always && (this.stored === this.confirmed || now - this.lastConfirmAt < CONFIRM_INTERVAL_MS)) return;
    if (!this.connection.isOpen) return;
    this.confirmed = this.stored;
    this.lastConfirmAt = now;
    // A failed PING has closed the connection: until() sees it.
    this.confirming = this.confirming.then(() =>
      this.connection.command(["PING", String(this.confirmed)], this.context.tuning.commandTimeoutMs).catch(() => undefined),
    );
  }

  private async keepAlive(): Promise<void> {
    const { clock, tuning } = this.context;
    try {
      while (this.connection.isOpen) {
        await clock.sleep(Math.min(tuning.pingIntervalMs, CONFIRM_INTERVAL_MS * 5), this.keepalive.signal);
        if (this.stored !== this.confirmed || clock.now() - this.lastConfirmAt >= tuning.pingIntervalMs) this.confirm(true);
      }
    } catch {
      // The session is over.
    }
  }
}

/** The messages of an `LPOP usage <count>` reply: an array of bulk strings, or nil, or (without count) one bulk string. */
export function popReply(reply: RespValue): Buffer[] {
  switch (reply.type) {
    case "array": {
      const messages: Buffer[] = [];
      for (const item of arrayItems(reply)) {
        if (item.type !== "bulk" || item.value === null) {
          throw new BridgeError("BRIDGE_PROTOCOL_ERROR", `LPOP returned a non-string element: ${describeValue(item)}`);
        }
        messages.push(item.value);
      }
      return messages;
    }
    case "bulk":
      return reply.value === null ? [] : [reply.value];
    case "error":
      if (/^NOAUTH/i.test(reply.message)) throw new BridgeError("BRIDGE_AUTH_FAILED", `node requires authentication: ${reply.message}`);
      throw new BridgeError("BRIDGE_COMMAND_ERROR", `node refused LPOP usage: ${reply.message}`);
    case "simple":
    case "integer":
      throw new BridgeError("BRIDGE_PROTOCOL_ERROR", `unexpected reply to LPOP: ${describeValue(reply)}`);
  }
}

/** The error for an error reply to AUTH: a ban, or a refused key (`-WRONGPASS`, `-ERR`, `-NOAUTH`). */
function refusal(message: string): BridgeError {
  if (/banned/i.test(message)) return new BridgeError("BRIDGE_NODE_BANNED", `node banned this address: ${message}`);
  return new BridgeError("BRIDGE_AUTH_FAILED", `node refused the management key: ${message}`);
}
