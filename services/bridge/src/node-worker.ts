import type { AuthGuard, AuthPolicy } from "./auth-guard";
import { backoffDelay, type BackoffPolicy } from "./clock";
import { deliverBatch, type DeliveryContext, type UndeliveredMessage } from "./delivery";
import { BridgeError, errorMessage, isBridgeError } from "./errors";
import { popHttpUsageQueue } from "./http-queue";
import { describeValue, type RespValue } from "./resp/resp-codec";
import { arrayItems, RespConnection, type NodeTls } from "./resp/resp-connection";

/** How the bridge reads a node's usage queue. */
export type NodeMode = "lpop" | "subscribe" | "http";

/** One CLIProxyAPI node, as validated by the config. */
export interface NodeConfig {
  /** `host:port` of the management port (default port 8317). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** The node's management key (`remote-management.secret-key`). Never logged. */
  readonly managementKey: string;
  readonly tls?: NodeTls;
  readonly mode: NodeMode;
  /** Written into each record's `extra.nodeId`; default the address. */
  readonly id: string;
}

/** Timing and size settings shared by every node. */
export interface BridgeTuning {
  /** Records per `LPOP usage <count>` / HTTP `count`; default 500. */
  readonly batchSize: number;
  /** Wait after an empty pop; default 1000 ms. */
  readonly pollIntervalMs: number;
  readonly connectTimeoutMs: number;
  /** Time allowed for one reply (AUTH, LPOP, PING, an HTTP pop); default 30 s. */
  readonly commandTimeoutMs: number;
  /** Subscribe mode: PING this often to find a dead connection; default 30 s. */
  readonly pingIntervalMs: number;
  /** Subscribe mode: leave subscribe mode (UNSUBSCRIBE, then drain by LPOP) when this many received messages wait; default 2 × batchSize. */
  readonly maxBufferedMessages: number;
  /** Largest HTTP usage-queue response, bytes; default 256 MiB. */
  readonly maxHttpBodyBytes: number;
  /** Backoff between reconnects after errors other than authentication; default 500 ms .. 30 s. */
  readonly reconnect: BackoffPolicy;
  /** Backoff between retries of failed publishes / dead-letter writes; default 200 ms .. 10 s. */
  readonly publishRetry: BackoffPolicy;
  readonly auth: AuthPolicy;
}

/** A node's state as /healthz shows it. */
export type NodeStatus = "idle" | "connecting" | "connected" | "backoff" | "auth-failed" | "banned" | "stopped";

/** The health of one node. */
export interface NodeHealth {
  readonly address: string;
  readonly mode: NodeMode;
  readonly status: NodeStatus;
  /** False when the node needs attention: authentication refused, banned, publishing failing, or reconnects failing repeatedly. */
  readonly healthy: boolean;
  /** ISO time of the last fully acknowledged pop (scheduler clock). */
  readonly lastSuccessAt: string | null;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: string } | null;
  readonly consecutiveAuthFailures: number;
  /** When the next connection or authentication attempt is due (ISO), while waiting for one. */
  readonly nextAttemptAt: string | null;
  /** True while a publish or dead-letter write of this node is being retried. */
  readonly deliveryRetrying: boolean;
}

/** A failed reconnect count at which a node is reported unhealthy. */
const UNHEALTHY_AFTER_RECONNECTS = 3;

/** Everything one worker needs from the bridge. */
export interface NodeWorkerDeps {
  readonly node: NodeConfig;
  readonly tuning: BridgeTuning;
  readonly guard: AuthGuard;
  /** The delivery context of this node (logger, metrics, clock, publisher, dead letters). */
  readonly delivery: DeliveryContext;
}

/**
 * Reads one node's usage queue until stopped: connect, authenticate, pop (or subscribe), hand each
 * batch to {@link deliverBatch} and pop the next only once the previous one is acknowledged.
 * Errors end the session; the worker reconnects after a jittered exponential backoff, or, after an
 * authentication failure, when the {@link AuthGuard} allows.
 */
export class NodeWorker {
  private readonly deps: NodeWorkerDeps;
  private status: NodeStatus = "idle";
  private lastSuccessAt: number | undefined;
  private lastError: { code: string; message: string; at: number } | undefined;
  private nextAttemptAt: number | undefined;
  private reconnectFailures = 0;
  private retrying = false;
  private readonly undelivered: UndeliveredMessage[] = [];

  constructor(deps: NodeWorkerDeps) {
    this.deps = {
      ...deps,
      delivery: {
        ...deps.delivery,
        onRetrying: (retrying: boolean) => {
          this.retrying = retrying;
        },
      },
    };
  }

  /**
   * Runs until `intake` aborts, then finishes the batch in hand (bounded by `deliveryDeadline`)
   * and resolves with whatever could not be delivered.
   */
  async run(intake: AbortSignal, deliveryDeadline: AbortSignal): Promise<UndeliveredMessage[]> {
    const { clock } = this.deps.delivery;
    while (!intake.aborted) {
      const wait = this.deps.guard.nextAttemptAt(clock.now()) - clock.now();
      try {
        if (wait > 0) {
          this.nextAttemptAt = clock.now() + wait;
          await clock.sleep(wait, intake);
        }
        this.nextAttemptAt = undefined;
        // A refused key or a ban stays the status until an authentication succeeds.
        if (this.status !== "auth-failed" && this.status !== "banned") this.status = "connecting";
        await this.session(intake, deliveryDeadline);
      } catch (error) {
        if (isBridgeError(error, "BRIDGE_STOPPED") && intake.aborted) break;
        await this.afterError(error, intake).catch(() => undefined);
      } finally {
        this.deps.delivery.metrics.up.set({ node: this.deps.node.address }, 0);
      }
    }
    this.status = "stopped";
    this.nextAttemptAt = undefined;
    return this.undelivered;
  }

  /** This node's health now. */
  health(): NodeHealth {
    const iso = (time: number | undefined): string | null => (time === undefined ? null : new Date(time).toISOString());
    const { node, guard } = this.deps;
    const authFailing = guard.authState === "failed" || guard.authState === "locked-out" || guard.authState === "banned";
    const failing = authFailing || this.status === "auth-failed" || this.status === "banned";
    return {
      address: node.address,
      mode: node.mode,
      status: this.status,
      healthy: !failing && !this.retrying && this.reconnectFailures < UNHEALTHY_AFTER_RECONNECTS,
      lastSuccessAt: iso(this.lastSuccessAt),
      lastError:
        this.lastError === undefined
          ? null
          : { code: this.lastError.code, message: this.lastError.message, at: iso(this.lastError.at) ?? "" },
      consecutiveAuthFailures: guard.consecutiveFailures,
      nextAttemptAt: iso(this.nextAttemptAt),
      deliveryRetrying: this.retrying,
    };
  }

  private async afterError(error: unknown, intake: AbortSignal): Promise<void> {
    const { node, guard, tuning } = this.deps;
    const { clock, logger, metrics, random } = this.deps.delivery;
    const failure = isBridgeError(error) ? error : new BridgeError("BRIDGE_CONNECTION_CLOSED", errorMessage(error), { cause: error });
    const now = clock.now();
    this.lastError = { code: failure.code, message: failure.message, at: now };
    const labels = { node: node.address };
    switch (failure.code) {
      case "BRIDGE_AUTH_FAILED": {
        guard.recordFailure(now);
        this.status = "auth-failed";
        metrics.authFailures.inc({ ...labels, reason: "refused" });
        const next = guard.nextAttemptAt(now);
        this.nextAttemptAt = next;
        logger.error(
          {
            code: failure.code,
            err: failure.message,
            consecutiveFailures: guard.consecutiveFailures,
            authState: guard.authState,
            retryInSeconds: Math.round((next - now) / 1000),
          },
          "the node refused the management key: check the node's key in the bridge config (the node bans an address after 5 failures in a row, so the bridge retries slowly)",
        );
        return;
      }
      case "BRIDGE_NODE_BANNED": {
        guard.recordBanned(now);
        this.status = "banned";
        metrics.authFailures.inc({ ...labels, reason: "banned" });
        const next = guard.nextAttemptAt(now);
        this.nextAttemptAt = next;
        logger.error(
          { code: failure.code, err: failure.message, retryInSeconds: Math.round((next - now) / 1000) },
          "the node has banned this address after too many failed management-key checks; waiting the ban out",
        );
        return;
      }
      default: {
        this.reconnectFailures += 1;
        this.status = "backoff";
        metrics.reconnects.inc(labels);
        // A refused command (an old node without the usage queue) will not heal soon: wait the longest.
        const delay = failure.retryable ? backoffDelay(tuning.reconnect, this.reconnectFailures, random) : tuning.reconnect.maxMs;
        this.nextAttemptAt = now + delay;
        const log = failure.retryable ? logger.warn.bind(logger) : logger.error.bind(logger);
        log(
          { code: failure.code, err: failure.message, retryInMs: delay, failuresInARow: this.reconnectFailures },
          "node session ended; reconnecting",
        );
        await clock.sleep(delay, intake);
      }
    }
  }

  private session(intake: AbortSignal, deadline: AbortSignal): Promise<void> {
    switch (this.deps.node.mode) {
      case "lpop":
        return this.respSession(intake, deadline, false);
      case "subscribe":
        return this.respSession(intake, deadline, true);
      case "http":
        return this.httpSession(intake, deadline);
    }
  }

  private async respSession(intake: AbortSignal, deadline: AbortSignal, subscribe: boolean): Promise<void> {
    const { node, tuning } = this.deps;
    const connection = await RespConnection.open({
      host: node.host,
      port: node.port,
      tls: node.tls,
      connectTimeoutMs: tuning.connectTimeoutMs,
      signal: intake,
    });
    try {
      await this.authenticate(connection);
      this.connected();
      for (;;) {
        // lpop mode pops until stopped; subscribe mode first drains what the node queued while
        // nobody was subscribed (or while the bridge stepped out of subscribe mode), then subscribes.
        while (!intake.aborted) {
          const popped = await this.pop(connection);
          await this.deliver(popped, deadline);
          if (subscribe && popped.length < tuning.batchSize) break;
          if (popped.length === 0) await this.deps.delivery.clock.sleep(tuning.pollIntervalMs, intake);
        }
        if (!subscribe || intake.aborted) return;
        if ((await this.subscribed(connection, intake, deadline)) === "stopped") return;
      }
    } finally {
      connection.close();
    }
  }

  private async authenticate(connection: RespConnection): Promise<void> {
    const { node, guard, tuning } = this.deps;
    const { clock, metrics } = this.deps.delivery;
    guard.recordAttempt(clock.now());
    metrics.authAttempts.inc({ node: node.address });
    const reply = await connection.command(["AUTH", node.managementKey], tuning.commandTimeoutMs);
    if (reply.type === "simple" && reply.value.toUpperCase() === "OK") {
      guard.recordSuccess();
      return;
    }
    if (reply.type === "error") throw refusal(reply.message);
    throw new BridgeError("BRIDGE_PROTOCOL_ERROR", `unexpected reply to AUTH: ${describeValue(reply)}`);
  }

  /** `LPOP usage <count>`: the popped messages (none for a nil or empty reply). */
  private async pop(connection: RespConnection): Promise<Buffer[]> {
    const { node, tuning } = this.deps;
    const reply = await connection.command(["LPOP", "usage", String(tuning.batchSize)], tuning.commandTimeoutMs);
    const messages = popReply(reply);
    if (messages.length > 0) this.deps.delivery.metrics.popped.inc({ node: node.address }, messages.length);
    return messages;
  }

  /**
   * Subscribe mode: takes pushed records until stopped, or until `maxBufferedMessages` received
   * messages wait for Kafka. Either way it leaves with `UNSUBSCRIBE`, whose reply comes after every
   * message pushed before it (none is left behind); from then on the node queues new records, which
   * the caller drains with LPOP before it subscribes again. So a slow Kafka never fills the node's
   * 256-message subscriber buffer (the node would drop the subscriber and its buffered records).
   */
  private async subscribed(connection: RespConnection, intake: AbortSignal, deadline: AbortSignal): Promise<"stopped" | "resubscribe"> {
    const { node, tuning } = this.deps;
    const { logger, metrics } = this.deps.delivery;
    const buffer: Buffer[] = [];
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const waiting = wake;
      wake = undefined;
      waiting?.();
    };
    let leaving = false;
    let left = false;
    const leave = (): void => {
      if (leaving) return;
      leaving = true;
      connection.unsubscribe("usage", tuning.commandTimeoutMs).then(
        () => {
          left = true;
          notify();
        },
        // A failed UNSUBSCRIBE has closed the connection: the loop sees it.
        notify,
      );
    };
    await connection.subscribe("usage", tuning.commandTimeoutMs, (channel, payload) => {
      if (channel !== "usage") return;
      buffer.push(payload);
      metrics.popped.inc({ node: node.address });
      if (buffer.length >= tuning.maxBufferedMessages && !leaving) {
        logger.warn({ buffered: buffer.length }, "records arrive faster than Kafka takes them: leaving subscribe mode to drain the queue");
        leave();
      }
      notify();
    });
    this.connected();
    connection.onClose(notify);
    intake.addEventListener("abort", notify, { once: true });
    const pinging = new AbortController();
    void this.ping(connection, pinging.signal);
    try {
      for (;;) {
        if (intake.aborted) leave();
        if (buffer.length > 0) {
          await this.deliver(buffer.splice(0, tuning.batchSize), deadline);
          continue;
        }
        if (left) return intake.aborted ? "stopped" : "resubscribe";
        if (!connection.isOpen) throw await connection.closed();
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      pinging.abort();
      intake.removeEventListener("abort", notify);
    }
  }

  /** Subscribe mode: a PING every pingIntervalMs; no answer in time closes the connection. */
  private async ping(connection: RespConnection, signal: AbortSignal): Promise<void> {
    const { clock } = this.deps.delivery;
    try {
      while (connection.isOpen) {
        await clock.sleep(this.deps.tuning.pingIntervalMs, signal);
        await connection.command(["PING"], this.deps.tuning.commandTimeoutMs);
      }
    } catch {
      // A failed PING has closed the connection already; an abort means the session is over.
    }
  }

  private async httpSession(intake: AbortSignal, deadline: AbortSignal): Promise<void> {
    const { node, tuning, guard } = this.deps;
    const { clock, metrics } = this.deps.delivery;
    while (!intake.aborted) {
      // Every request carries the key; while it is not known good, each one is an authentication attempt.
      const probing = guard.authState !== "ok";
      if (probing) {
        guard.recordAttempt(clock.now());
        metrics.authAttempts.inc({ node: node.address });
      }
      const messages = await popHttpUsageQueue({
        host: node.host,
        port: node.port,
        tls: node.tls,
        managementKey: node.managementKey,
        count: tuning.batchSize,
        timeoutMs: tuning.commandTimeoutMs,
        maxBodyBytes: tuning.maxHttpBodyBytes,
      });
      if (probing) guard.recordSuccess();
      this.connected();
      if (messages.length > 0) metrics.popped.inc({ node: node.address }, messages.length);
      await this.deliver(messages, deadline);
      if (messages.length === 0) await clock.sleep(tuning.pollIntervalMs, intake);
    }
  }

  private connected(): void {
    this.status = "connected";
    this.deps.delivery.metrics.up.set({ node: this.deps.node.address }, 1);
  }

  /** Delivers one batch; a batch cut short by the stop deadline ends the session. */
  private async deliver(messages: readonly Buffer[], deadline: AbortSignal): Promise<void> {
    if (messages.length > 0) {
      const result = await deliverBatch(this.deps.delivery, messages, deadline);
      if (result.undelivered.length > 0) {
        this.undelivered.push(...result.undelivered);
        for (const lost of result.undelivered) {
          this.deps.delivery.logger.error(
            { code: lost.error.code, payload: lost.raw.toString("utf8") },
            "usage record popped from the node but not delivered before the bridge stopped (its payload is logged here to be replayed by hand)",
          );
        }
        throw new BridgeError("BRIDGE_STOPPED", "stop deadline reached with records undelivered");
      }
    }
    const now = this.deps.delivery.clock.now();
    this.lastSuccessAt = now;
    this.reconnectFailures = 0;
    this.deps.delivery.metrics.lastSuccess.set({ node: this.deps.node.address }, now / 1000);
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
