import { RequestStatistics, createSystemClock } from "@usage-ledger/statistics";
import type { Timestamp, UsageRecord } from "@usage-ledger/statistics";
import type { KafkaSecurity } from "@usage-ledger/kafka-contract";
import { LoadgenError } from "./errors";
import { createRecordGenerator } from "./generator";
import type { RecordGenerator } from "./generator";
import { createRandom } from "./random";
import type { Random } from "./random";

/** The minimal pino-compatible logger loadgen writes to. */
export interface LoadgenLogger {
  debug(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  error(fields: Record<string, unknown>, message?: string): void;
}

/** Where one node's records go: a publisher, or (in unit tests) anything that acknowledges. */
export interface RecordSink {
  /** Resolves when the record is acknowledged (durably written); rejects when it could not be. */
  publish(record: UsageRecord): Promise<unknown>;
  /** Delivers what is pending and releases the connection. */
  close(): Promise<void>;
}

/** Options of {@link startFleet} / {@link runFleet}. */
export interface FleetOptions {
  /** Seed of everything the fleet draws (same seed and start, same records in the same order per node). */
  readonly seed: number;
  /** Simulated proxy nodes (each its own publisher). */
  readonly nodes: number;
  /** Distinct records the whole fleet generates; undefined = until stopped. Re-sends come on top. */
  readonly records?: number;
  /** Records per second of the whole fleet (new records; re-sends come on top); undefined = as fast as acknowledgements allow. */
  readonly ratePerSecond?: number;
  /** Probability that a new record is followed by a re-send of one of the node's recent records (default 0). */
  readonly resendRate?: number;
  /** Probability of a failed call (default 0.03). */
  readonly failureRate?: number;
  /** Distinct API keys (default 200). */
  readonly apiKeys?: number;
  /** Timestamp of the first record (default: now). Records are stamped from here, see generator.ts. */
  readonly start?: Timestamp;
  readonly logger: LoadgenLogger;
  /** Kafka brokers, for the default sink (a publisher per node). */
  readonly brokers?: readonly string[];
  /** TLS and SASL of those brokers (kafkajs's `ssl`/`sasl`: `resolveKafkaSecurity` of packages/kafka-contract). */
  readonly security?: KafkaSecurity;
  /** Topic for the default sink (default `usage.records`). */
  readonly topic?: string;
  /** Makes each node's sink; default: a packages/publisher publisher on `brokers`/`topic`. */
  readonly createSink?: (node: { readonly index: number; readonly nodeId: string }) => RecordSink;
  /** Build the ground truth (default true; a long demo may turn it off to save memory). */
  readonly groundTruth?: boolean;
  /** Unacknowledged publishes per node before the node waits (default 2000). */
  readonly maxInFlightPerNode?: number;
  /** Stops generating when aborted; what is in flight is still delivered. */
  readonly signal?: AbortSignal;
}

/** Counters of one node. */
interface NodeSummary {
  readonly nodeId: string;
  /** Distinct records generated. */
  readonly generated: number;
  /** Publishes acknowledged (first sends and re-sends). */
  readonly sent: number;
  /** Re-sends acknowledged. */
  readonly resent: number;
  /** Publishes that were rejected (the record may or may not be in the topic). */
  readonly failed: number;
}

/** What the fleet did. */
interface FleetSummary extends Omit<NodeSummary, "nodeId"> {
  readonly nodes: number;
  /** Distinct records acknowledged at least once (= the ground truth's details). */
  readonly distinct: number;
  readonly durationMs: number;
  readonly perNode: readonly NodeSummary[];
}

/** The result of a fleet run. */
export interface FleetResult {
  readonly summary: FleetSummary;
  /**
   * The statistics of the distinct records acknowledged, built with `RequestStatistics.record`
   * (undefined when `groundTruth: false`). An exact aggregator holds exactly these.
   */
  readonly groundTruth: RequestStatistics | undefined;
}

/** A running fleet. */
export interface FleetHandle {
  /** Counters so far. */
  progress(): FleetSummary;
  /** Stops generating; resolves with the result once everything in flight is settled and sinks are closed. */
  stop(): Promise<FleetResult>;
  /** Settles when the fleet has finished (records reached, or stopped). */
  readonly done: Promise<FleetResult>;
}

const RING = 256;

interface NodeState {
  readonly index: number;
  readonly generator: RecordGenerator;
  readonly random: Random;
  readonly sink: RecordSink;
  readonly quota: number;
  /** Recent records (by sequence) the node may re-send. */
  readonly recent: Array<{ readonly id: number; readonly record: UsageRecord }>;
  /** One bit per generated record: acknowledged at least once. */
  acknowledged: Uint8Array;
  sent: number;
  resent: number;
  failed: number;
  distinct: number;
  inFlight: number;
  wake: (() => void) | undefined;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new LoadgenError("LOADGEN_INVALID_OPTIONS", message);
}

function validate(options: FleetOptions): void {
  check(Number.isInteger(options.nodes) && options.nodes >= 1, "nodes must be an integer >= 1");
  check(Number.isInteger(options.seed) && options.seed >= 0 && options.seed < 2 ** 32, "seed must be an integer in 0..2^32-1");
  if (options.records !== undefined) check(Number.isInteger(options.records) && options.records >= 0, "records must be an integer >= 0");
  if (options.ratePerSecond !== undefined)
    check(options.ratePerSecond > 0 && Number.isFinite(options.ratePerSecond), "ratePerSecond must be > 0");
  const resend = options.resendRate ?? 0;
  check(resend >= 0 && resend <= 1, "resendRate must be within 0..1");
  const failure = options.failureRate ?? 0.03;
  check(failure >= 0 && failure <= 1, "failureRate must be within 0..1");
  if (options.createSink === undefined) {
    check((options.brokers?.length ?? 0) > 0, "brokers are required unless createSink is given");
  }
}

function markAcknowledged(node: NodeState, id: number): boolean {
  const byte = id >>> 3;
  if (byte >= node.acknowledged.length) {
    const grown = new Uint8Array(Math.max(byte + 1, node.acknowledged.length * 2));
    grown.set(node.acknowledged);
    node.acknowledged = grown;
  }
  const bit = 1 << (id & 7);
  const already = ((node.acknowledged[byte] ?? 0) & bit) !== 0;
  node.acknowledged[byte] = (node.acknowledged[byte] ?? 0) | bit;
  return !already;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a simulated fleet: `nodes` proxy nodes, each publishing its own deterministic stream (see
 * generator.ts) through its own sink, throttled to `ratePerSecond` for the fleet, with re-sends of
 * recent records at `resendRate`. Each distinct record acknowledged at least once goes into the
 * ground truth exactly once.
 */
export function startFleet(options: FleetOptions, defaultSink?: FleetOptions["createSink"]): FleetHandle {
  validate(options);
  const createSink = options.createSink ?? defaultSink;
  if (createSink === undefined) throw new LoadgenError("LOADGEN_INVALID_OPTIONS", "no sink: give createSink or brokers");
  const start = options.start ?? createSystemClock()();
  const rate = options.ratePerSecond;
  const stepNs = rate === undefined ? 1000 : Math.max(1, Math.round(1e9 / rate));
  const resendRate = options.resendRate ?? 0;
  const maxInFlight = options.maxInFlightPerNode ?? 2000;
  const groundTruth = options.groundTruth === false ? undefined : new RequestStatistics();
  const startedAt = performance.now();
  let stopping = false;
  const stopWaiters: Array<() => void> = [];
  const stopSignal = new Promise<void>((resolve) => stopWaiters.push(resolve));
  const requestStop = (): void => {
    if (stopping) return;
    stopping = true;
    for (const resolve of stopWaiters) resolve();
  };
  options.signal?.addEventListener("abort", requestStop, { once: true });
  if (options.signal?.aborted === true) requestStop();

  const nodes: NodeState[] = Array.from({ length: options.nodes }, (_, index) => {
    const generator = createRecordGenerator({
      seed: options.seed,
      nodeIndex: index,
      nodes: options.nodes,
      start,
      stepNs,
      ...(options.apiKeys !== undefined ? { apiKeys: options.apiKeys } : {}),
      ...(options.failureRate !== undefined ? { failureRate: options.failureRate } : {}),
    });
    const total = options.records;
    const quota =
      total === undefined ? Number.POSITIVE_INFINITY : Math.floor(total / options.nodes) + (index < total % options.nodes ? 1 : 0);
    return {
      index,
      generator,
      random: createRandom(options.seed).fork(`resend-${index}`),
      sink: createSink({ index, nodeId: generator.nodeId }),
      quota,
      recent: [],
      acknowledged: new Uint8Array(1024),
      sent: 0,
      resent: 0,
      failed: 0,
      distinct: 0,
      inFlight: 0,
      wake: undefined,
    };
  });

  function publish(node: NodeState, id: number, record: UsageRecord, resend: boolean): void {
    node.inFlight++;
    node.sink
      .publish(record)
      .then(
        () => {
          node.sent++;
          if (resend) node.resent++;
          if (markAcknowledged(node, id)) {
            node.distinct++;
            groundTruth?.record(record);
          }
        },
        (error: unknown) => {
          node.failed++;
          if (node.failed <= 10 || node.failed % 1000 === 0) {
            options.logger.warn({ err: error, nodeId: node.generator.nodeId, failed: node.failed }, "loadgen: a publish failed");
          }
        },
      )
      .finally(() => {
        node.inFlight--;
        const wake = node.wake;
        node.wake = undefined;
        wake?.();
      });
  }

  async function waitForSlot(node: NodeState, limit: number): Promise<void> {
    while (node.inFlight > limit) {
      await new Promise<void>((resolve) => {
        node.wake = resolve;
      });
    }
  }

  async function runNode(node: NodeState): Promise<void> {
    const perNodeRate = rate === undefined ? undefined : rate / options.nodes;
    while (!stopping && node.generator.generated < node.quota) {
      const k = node.generator.generated;
      if (perNodeRate !== undefined) {
        const due = startedAt + (k / perNodeRate) * 1000;
        const ahead = due - performance.now();
        if (ahead >= 2) await Promise.race([sleep(ahead), stopSignal]);
        if (stopping) break;
      }
      const record = node.generator.next();
      const id = k;
      node.recent.push({ id, record });
      if (node.recent.length > RING) node.recent.shift();
      publish(node, id, record, false);
      if (resendRate > 0 && node.recent.length > 1 && node.random.chance(resendRate)) {
        const pick = node.recent[node.random.int(node.recent.length)];
        if (pick !== undefined) publish(node, pick.id, pick.record, true);
      }
      if (node.inFlight >= maxInFlight) await waitForSlot(node, maxInFlight - 1);
    }
    await waitForSlot(node, 0);
  }

  function summary(): FleetSummary {
    const perNode = nodes.map((node) => ({
      nodeId: node.generator.nodeId,
      generated: node.generator.generated,
      sent: node.sent,
      resent: node.resent,
      failed: node.failed,
    }));
    const sum = (pick: (node: NodeState) => number): number => nodes.reduce((total, node) => total + pick(node), 0);
    return {
      nodes: nodes.length,
      generated: sum((node) => node.generator.generated),
      sent: sum((node) => node.sent),
      resent: sum((node) => node.resent),
      failed: sum((node) => node.failed),
      distinct: sum((node) => node.distinct),
      durationMs: Math.round(performance.now() - startedAt),
      perNode,
    };
  }

  const done = (async (): Promise<FleetResult> => {
    try {
      await Promise.all(nodes.map((node) => runNode(node)));
    } finally {
      options.signal?.removeEventListener("abort", requestStop);
      const closed = await Promise.allSettled(nodes.map((node) => node.sink.close()));
      const failures = closed.filter((result): result is PromiseRejectedResult => result.status === "rejected");
      if (failures.length > 0) {
        // eslint-disable-next-line no-unsafe-finally -- a sink that cannot close must not go unnoticed
        throw new LoadgenError("LOADGEN_CLOSE_FAILED", `${failures.length} node(s) could not close their publisher`, {
          cause: failures[0]?.reason,
        });
      }
    }
    const result = { summary: summary(), groundTruth };
    options.logger.info({ ...result.summary, perNode: undefined }, "loadgen: fleet finished");
    return result;
  })();

  return {
    progress: summary,
    stop: async () => {
      requestStop();
      return done;
    },
    done,
  };
}
