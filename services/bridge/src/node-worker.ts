import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Clock } from "@usage-ledger/statistics";
import type { AuthGuard, AuthPolicy } from "./auth-guard";
import { backoffDelay, type BackoffPolicy } from "./clock";
import { deliverBatch, type DeliveryContext, type UndeliveredMessage } from "./delivery";
import { BridgeError, errorMessage, isBridgeError } from "./errors";
import { popHttpUsageQueue } from "./http-queue";
import { RespIntake } from "./resp-intake";
import type { NodeTls } from "./resp/resp-connection";
import type { Spool, SpoolStats } from "./spool/spool";

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
  /** Written into each record's `extra.nodeId`, and names the node's spool folder; default the address. */
  readonly id: string;
}

/** Timing and size settings shared by every node. */
export interface BridgeTuning {
  /** Records per `LPOP usage <count>` / HTTP `count`, and per publish round; default 500. */
  readonly batchSize: number;
  /** Wait after an empty pop; default 1000 ms. */
  readonly pollIntervalMs: number;
  readonly connectTimeoutMs: number;
  /** Time allowed for one reply (AUTH, LPOP, PING, an HTTP pop); default 30 s. */
  readonly commandTimeoutMs: number;
  /** Subscribe mode: a PING at least this often finds a dead connection; default 30 s. */
  readonly pingIntervalMs: number;
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
  /** The configured mode. */
  readonly mode: NodeMode;
  /** The mode the node is actually drained with (`lpop` when it does not support the configured one). */
  readonly drainedWith: NodeMode;
  readonly status: NodeStatus;
  /**
   * False when the node needs attention: authentication refused, banned, publishing failing,
   * reconnects failing repeatedly, not drainable in its configured mode, or its spool full or failing.
   */
  readonly healthy: boolean;
  /** Why the node is drained with another mode than configured; null when it is not. */
  readonly fallback: string | null;
  /** ISO time of the last batch Kafka acknowledged (scheduler clock). */
  readonly lastSuccessAt: string | null;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: string } | null;
  readonly consecutiveAuthFailures: number;
  /** When the next connection or authentication attempt is due (ISO), while waiting for one. */
  readonly nextAttemptAt: string | null;
  /** True while a publish or dead-letter write of this node is being retried. */
  readonly deliveryRetrying: boolean;
  readonly spool: SpoolStats;
}

/** What a worker leaves behind when it stops. */
export interface NodeStopReport {
  /** Records held in memory only (the spool could not be written) that Kafka did not take: lost. */
  readonly undelivered: readonly UndeliveredMessage[];
  /** Records still in the spool: published by the next start. */
  readonly leftInSpool: number;
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
  /** The node's spool, opened. */
  readonly spool: Spool;
  /** Stamps the time each message was received (kept in the spool). */
  readonly stamp: Clock;
}

/**
 * Reads one node's usage queue until stopped. Two loops run side by side: the intake takes
 * records from the node (LPOP, SUBSCRIBE or HTTP) and appends each batch to the node's spool before
 * anything else; the publisher takes batches from the spool, hands them to {@link deliverBatch}
 * and drops them from the spool once Kafka acknowledged them. Intake errors end the session; it
 * reconnects after a jittered exponential backoff, or, after an authentication failure, when the
 * {@link AuthGuard} allows.
 */
export class NodeWorker {
  private readonly deps: NodeWorkerDeps;
  private readonly resp: RespIntake;
  private status: NodeStatus = "idle";
  private drainMode: NodeMode;
  private fallbackReason: string | undefined;
  private lastSuccessAt: number | undefined;
  private lastError: { code: string; message: string; at: number } | undefined;
  private nextAttemptAt: number | undefined;
  private reconnectFailures = 0;
  private retrying = false;
  private spoolWasFull = false;
  private httpAgent: HttpAgent | undefined;

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
    this.drainMode = deps.node.mode;
    const { logger, metrics, clock } = this.deps.delivery;
    this.resp = new RespIntake({
      node: deps.node,
      tuning: deps.tuning,
      guard: deps.guard,
      metrics,
      logger,
      clock,
      spool: deps.spool,
      store: (messages) => this.store(messages),
      connected: () => this.connected(),
      fallBack: (reason) => this.fallBack(reason),
      spoolFull: () => this.spoolFull(),
    });
    if (deps.spool.damage.length > 0) metrics.spoolDamaged.inc({ node: deps.node.address }, deps.spool.damage.length);
    this.updateSpoolMetrics();
  }

  /**
   * Runs until `intake` aborts; then publishes what the spool still holds, until it is empty or
   * `deliveryDeadline` aborts, and reports what is left.
   */
  async run(intake: AbortSignal, deliveryDeadline: AbortSignal): Promise<NodeStopReport> {
    const intakeEnded = new AbortController();
    const publishing = this.publishLoop(deliveryDeadline, intakeEnded.signal);
    try {
      await this.intakeLoop(intake);
    } finally {
      intakeEnded.abort();
      this.httpAgent?.destroy();
    }
    await publishing;
    this.status = "stopped";
    this.nextAttemptAt = undefined;
    const { spool } = this.deps;
    const { logger } = this.deps.delivery;
    const lost = spool.memoryOnlyMessages();
    const error = new BridgeError(
      "BRIDGE_PUBLISH_FAILED",
      "held in memory only (the spool could not be written) and not acknowledged before the stop deadline",
    );
    for (const message of lost) {
      logger.error(
        { code: error.code, payload: message.raw.toString("utf8") },
        "usage record taken from the node but neither spooled nor delivered before the bridge stopped (its payload is logged here to be replayed by hand)",
      );
    }
    const leftInSpool = spool.pendingRecords - lost.length;
    if (leftInSpool > 0) logger.warn({ records: leftInSpool }, "records left in the spool: the next start publishes them first");
    return { undelivered: lost.map((message) => ({ nodeAddress: this.deps.node.address, raw: message.raw, error })), leftInSpool };
  }

  /** This node's health now. */
  health(): NodeHealth {
    const iso = (time: number | undefined): string | null => (time === undefined ? null : new Date(time).toISOString());
    const { node, guard, spool } = this.deps;
    const authFailing = guard.authState === "failed" || guard.authState === "locked-out" || guard.authState === "banned";
    const failing = authFailing || this.status === "auth-failed" || this.status === "banned";
    const spoolStats = spool.stats();
    const spoolTrouble = spoolStats.full || spoolStats.failing !== null || spoolStats.memoryOnly > 0;
    return {
      address: node.address,
      mode: node.mode,
      drainedWith: this.drainMode,
      status: this.status,
      healthy:
        !failing &&
        !this.retrying &&
        this.reconnectFailures < UNHEALTHY_AFTER_RECONNECTS &&
        this.fallbackReason === undefined &&
        !spoolTrouble,
      fallback: this.fallbackReason ?? null,
      lastSuccessAt: iso(this.lastSuccessAt),
      lastError:
        this.lastError === undefined
          ? null
          : { code: this.lastError.code, message: this.lastError.message, at: iso(this.lastError.at) ?? "" },
      consecutiveAuthFailures: guard.consecutiveFailures,
      nextAttemptAt: iso(this.nextAttemptAt),
      deliveryRetrying: this.retrying,
      spool: spoolStats,
    };
  }

  private async intakeLoop(intake: AbortSignal): Promise<void> {
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
        await this.session(intake);
      } catch (error) {
        if (isBridgeError(error, "BRIDGE_STOPPED") && intake.aborted) break;
        await this.afterError(error, intake).catch(() => undefined);
      } finally {
        this.deps.delivery.metrics.up.set({ node: this.deps.node.address }, 0);
      }
    }
  }

  private async session(intake: AbortSignal): Promise<void> {
    switch (this.drainMode) {
      case "lpop":
        return this.resp.lpop(intake);
      case "subscribe":
        return this.resp.subscribe(intake);
      case "http":
        try {
          return await this.httpSession(intake);
        } catch (error) {
          if (!isBridgeError(error, "BRIDGE_MODE_UNSUPPORTED")) throw error;
          this.fallBack(error.message);
        }
    }
  }

  /**
   * Publishes the spool's batches in order, each dropped from the spool once Kafka acknowledged it.
   * After the intake ended it goes on until the spool is empty; the delivery deadline cuts it short
   * (what is left stays in the spool).
   */
  private async publishLoop(deadline: AbortSignal, intakeEnded: AbortSignal): Promise<void> {
    const { spool, tuning, node } = this.deps;
    const { metrics, clock } = this.deps.delivery;
    for (;;) {
      const ending = intakeEnded.aborted;
      if (deadline.aborted || (ending && spool.pendingRecords === 0)) return;
      let batch;
      try {
        batch = await spool.take(tuning.batchSize, ending ? deadline : AbortSignal.any([deadline, intakeEnded]));
      } catch {
        continue;
      }
      const result = await deliverBatch(this.deps.delivery, batch.messages, deadline);
      // Cut short by the stop deadline: the batch stays in the spool for the next start.
      if (result.undelivered.length > 0) return;
      spool.acknowledge(batch);
      this.updateSpoolMetrics();
      const now = clock.now();
      this.lastSuccessAt = now;
      metrics.lastSuccess.set({ node: node.address }, now / 1000);
    }
  }

  /** Appends messages just taken from the node to the spool; see IntakeContext.store. */
  private store(messages: readonly Buffer[]): Promise<void> {
    const { node, spool, stamp } = this.deps;
    this.deps.delivery.metrics.popped.inc({ node: node.address }, messages.length);
    const result = spool.append(messages.map((raw) => ({ raw, receivedAt: stamp() })));
    this.updateSpoolMetrics();
    if (!spool.full) this.spoolWasFull = false;
    return result.durable;
  }

  private spoolFull(): void {
    if (this.spoolWasFull) return;
    this.spoolWasFull = true;
    this.deps.delivery.logger.warn(
      { records: this.deps.spool.pendingRecords },
      "the spool is full (spoolMaxBytes): the bridge takes no more records from the node until Kafka has taken some",
    );
  }

  private fallBack(reason: string): void {
    const { node } = this.deps;
    this.drainMode = "lpop";
    this.fallbackReason = reason;
    this.deps.delivery.metrics.modeFallback.set({ node: node.address, configured: node.mode }, 1);
    this.deps.delivery.logger.error(
      { code: "BRIDGE_MODE_UNSUPPORTED", configured: node.mode, drainedWith: "lpop", reason },
      `the node cannot be drained in ${node.mode} mode (an older CLIProxyAPI, e.g. v6.9.x, has only LPOP): draining it with LPOP instead; set its mode to lpop to make this permanent`,
    );
  }

  private updateSpoolMetrics(): void {
    const { node, spool } = this.deps;
    const stats = spool.stats();
    this.deps.delivery.metrics.spoolRecords.set({ node: node.address }, stats.records);
    this.deps.delivery.metrics.spoolBytes.set({ node: node.address }, stats.bytes);
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

  /**
   * http mode: `GET /v0/management/usage-queue?count=N` in a loop over one kept-alive connection,
   * each response stored in the spool before the next request. Every request carries the key, and
   * the node checks it with bcrypt each time (see README.md: prefer lpop).
   */
  private async httpSession(intake: AbortSignal): Promise<void> {
    const { node, tuning, guard, spool } = this.deps;
    const { clock, metrics } = this.deps.delivery;
    this.httpAgent ??=
      node.tls === undefined ? new HttpAgent({ keepAlive: true, maxSockets: 1 }) : new HttpsAgent({ keepAlive: true, maxSockets: 1 });
    while (!intake.aborted) {
      if (spool.full) {
        this.spoolFull();
        await spool.waitForRoom(intake);
      }
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
        agent: this.httpAgent,
        managementKey: node.managementKey,
        count: tuning.batchSize,
        timeoutMs: tuning.commandTimeoutMs,
        maxBodyBytes: tuning.maxHttpBodyBytes,
      });
      if (probing) guard.recordSuccess();
      this.connected();
      if (messages.length > 0) {
        try {
          await this.store(messages);
        } catch {
          await spool.waitForMemoryOnly(intake);
        }
      } else {
        await clock.sleep(tuning.pollIntervalMs, intake);
      }
    }
  }

  private connected(): void {
    this.status = "connected";
    this.reconnectFailures = 0;
    this.deps.delivery.metrics.up.set({ node: this.deps.node.address }, 1);
  }
}
