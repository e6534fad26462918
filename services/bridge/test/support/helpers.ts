import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAggregator, type Aggregator, type AggregatorOptions } from "@usage-ledger/aggregator";
import { createTestTopics, testKafka, uniqueName } from "@usage-ledger/kafka-broker/testing";
import { createPublisher, type SourceMaskOptions, type UsagePublisher } from "@usage-ledger/publisher";
import type { StatisticsSnapshot, UsageRecord } from "@usage-ledger/statistics";
import { decodeUsageRecord } from "@usage-ledger/wire";
import type { Consumer, IHeaders } from "kafkajs";
import { pino } from "pino";
import { expect } from "vitest";
import { createBridge, DEFAULT_TUNING, type Bridge } from "../../src/bridge";
import type { SchedulerClock } from "../../src/clock";
import { stopped } from "../../src/clock";
import { createKafkaDeadLetterSink, type DeadLetterSink } from "../../src/dead-letter";
import type { BridgeLogger } from "../../src/logger";
import type { BridgeTuning, NodeConfig, NodeMode } from "../../src/node-worker";

/** Test logs: silent unless BRIDGE_TEST_LOG names a pino level. */
export const testLogger: BridgeLogger = pino({ level: process.env.BRIDGE_TEST_LOG ?? "silent" });

/** A logger that keeps every line (parsed) for assertions. */
export function recordingLogger(): { logger: BridgeLogger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** Polls `condition` until true; fails with `what` after `timeoutMs` (a guard against hangs, not a speed check). */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** One message read back from a topic. */
export interface TopicMessage {
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
  readonly partition: number;
  readonly offset: string;
}

/** Reads a topic from the beginning into `messages` until `stop()`. */
async function readTopic(brokers: string[], topic: string): Promise<{ messages: TopicMessage[]; stop(): Promise<void> }> {
  const consumer: Consumer = testKafka(brokers).consumer({
    groupId: uniqueName("bridge-reader"),
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: TopicMessage[] = [];
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      messages.push({
        key: message.key?.toString("utf8") ?? null,
        value: message.value ?? Buffer.alloc(0),
        headers: headerText(message.headers),
        partition,
        offset: message.offset,
      });
    },
  });
  return { messages, stop: () => consumer.disconnect() };
}

/**
 * Every message of `topic` as it stands now: waits until a reader has seen as many messages as the
 * partitions' high watermarks add up to (a topic created for the test starts at offset 0).
 */
export async function readWholeTopic(brokers: string[], topic: string): Promise<TopicMessage[]> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const total = offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
    const reader = await readTopic(brokers, topic);
    try {
      await eventually(`${total} messages read back from ${topic}`, () => reader.messages.length >= total);
      return [...reader.messages];
    } finally {
      await reader.stop();
    }
  } finally {
    await admin.disconnect();
  }
}

function headerText(headers: IHeaders | undefined): Record<string, string> {
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) text[name] = Array.isArray(value) ? value.map(String).join(",") : value.toString();
  }
  return text;
}

/** A bridge wired to real Kafka: packages/publisher for records, the Kafka dead-letter sink. */
export interface TestBridge {
  readonly bridge: Bridge;
  readonly publisher: UsagePublisher;
  readonly deadLetters: DeadLetterSink;
  /** Stops the bridge, then closes the publisher and the dead-letter producer. */
  close(): Promise<void>;
}

/** Options of {@link startTestBridge}. */
export interface TestBridgeOptions {
  readonly brokers: string[];
  readonly topic: string;
  readonly dlqTopic: string;
  readonly nodes: NodeConfig[];
  readonly tuning?: Partial<BridgeTuning>;
  readonly clock?: SchedulerClock;
  /** The spools' folder; default a new temporary one. Give the same one to a restarted bridge. */
  readonly spoolDir?: string;
  /** Per node; default 64 MiB. */
  readonly spoolMaxBytes?: number;
  /** Default: {@link testLogger}. */
  readonly logger?: BridgeLogger;
  /** Default: masking on, unsalted (the bridge's default). */
  readonly sourceMask?: SourceMaskOptions | false;
}

/** A new temporary folder for spools. */
export function temporarySpoolDir(): string {
  return mkdtempSync(join(tmpdir(), "bridge-test-spool-"));
}

/** Test tuning: short polls and backoffs (the waits are not what the tests check). */
export const FAST_TUNING: BridgeTuning = {
  ...DEFAULT_TUNING,
  batchSize: 50,
  pollIntervalMs: 50,
  connectTimeoutMs: 5_000,
  commandTimeoutMs: 10_000,
  pingIntervalMs: 1_000,
  reconnect: { baseMs: 20, maxMs: 200 },
  publishRetry: { baseMs: 50, maxMs: 500 },
  auth: { ...DEFAULT_TUNING.auth, windowMs: 1_000, retryDelaysMs: [100, 200, 400], lockoutMs: 2_000, bannedWaitMs: 2_000 },
};

/** Creates and starts a bridge over real Kafka. */
export function startTestBridge(options: TestBridgeOptions): TestBridge {
  const kafka = testKafka(options.brokers);
  const publisher = createPublisher({ kafka, topic: options.topic, batch: { lingerMs: 2 } });
  const deadLetters = createKafkaDeadLetterSink({ kafka, topic: options.dlqTopic });
  const bridge = createBridge({
    nodes: options.nodes,
    publisher,
    deadLetters,
    spool: { dir: options.spoolDir ?? temporarySpoolDir(), maxBytes: options.spoolMaxBytes ?? 64 * 1024 * 1024 },
    logger: options.logger ?? testLogger,
    ...(options.sourceMask === undefined ? {} : { sourceMask: options.sourceMask }),
    tuning: { ...FAST_TUNING, ...options.tuning },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  bridge.start();
  return {
    bridge,
    publisher,
    deadLetters,
    async close() {
      const report = await bridge.stop({ deadlineMs: 20_000 });
      expect(report).toEqual({ undelivered: [], leftInSpool: 0 });
      await publisher.close({ deadlineMs: 20_000 });
      await deadLetters.close();
    },
  };
}

/** A node config for the fake at `address`. */
export function fakeNodeConfig(address: string, key: string, mode: NodeMode, id = `node-${mode}`): NodeConfig {
  const [host, port] = address.split(":");
  return { address, host: host ?? "127.0.0.1", port: Number(port), managementKey: key, mode, id };
}

/** The records of a topic, decoded with packages/wire. */
export function decodeAll(messages: readonly TopicMessage[]): UsageRecord[] {
  return messages.map((message) => decodeUsageRecord(message.value));
}

/**
 * Asserts that `actual` holds each of `expected` exactly once and nothing else (records compared
 * whole; the order across partitions is not part of the contract).
 */
export function expectSameRecordsOnce(actual: readonly UsageRecord[], expected: readonly UsageRecord[]): void {
  const count = (records: readonly UsageRecord[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const record of records) {
      const key = canonical(record);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };
  const seen = count(actual);
  const wanted = count(expected);
  const duplicates = [...seen].filter(([, times]) => times > 1).map(([key]) => key);
  const missing = [...wanted.keys()].filter((key) => !seen.has(key));
  const unexpected = [...seen.keys()].filter((key) => !wanted.has(key));
  expect({ duplicates, missing, unexpected }).toEqual({ duplicates: [], missing: [], unexpected: [] });
}

/** JSON with sorted keys: equal records give equal text. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/** A {@link SchedulerClock} whose time moves only when the bridge sleeps; see {@link virtualClock}. */
export interface VirtualClock extends SchedulerClock {
  /** Sleeps that would end after this time wait (real time) until the horizon moves past them. */
  setHorizon(at: number): void;
  /** True while a sleep waits at the horizon: the bridge is idle and its state is stable. */
  readonly blocked: boolean;
}

/**
 * A scheduler clock whose sleeps take no real time: each sleep moves "now" to its end at once,
 * unless that end lies past the horizon (default: none); such a sleep waits until the horizon is
 * moved. For one sleeper at a time (one node), so the time it reports is the time the bridge waited.
 */
export function virtualClock(start = 1_800_000_000_000): VirtualClock {
  let now = start;
  let horizon = Number.POSITIVE_INFINITY;
  const waiting: Array<{ at: number; resolve: () => void }> = [];
  const release = (): void => {
    waiting.sort((a, b) => a.at - b.at);
    while ((waiting[0]?.at ?? Number.POSITIVE_INFINITY) <= horizon) {
      const next = waiting.shift();
      if (next === undefined) break;
      now = Math.max(now, next.at);
      setImmediate(next.resolve);
    }
  };
  return {
    now: () => now,
    get blocked() {
      return waiting.length > 0;
    },
    setHorizon(at) {
      horizon = at;
      release();
    },
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted === true) {
          reject(stopped());
          return;
        }
        const entry = { at: now + Math.max(0, ms), resolve };
        signal?.addEventListener(
          "abort",
          () => {
            const index = waiting.indexOf(entry);
            if (index !== -1) waiting.splice(index, 1);
            reject(stopped());
          },
          { once: true },
        );
        waiting.push(entry);
        release();
      }),
  };
}

/**
 * createTestTopics, retried while a fresh topic's metadata is not yet everywhere (kafkajs's
 * createTopics with waitForLeaders can fail with UNKNOWN_TOPIC_OR_PARTITION right after creation).
 */
export async function createTopics(
  brokers: string[],
  topics: Parameters<typeof createTestTopics>[1],
): Promise<Awaited<ReturnType<typeof createTestTopics>>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await createTestTopics(brokers, topics);
    } catch (error) {
      const retriable = typeof error === "object" && error !== null && "retriable" in error && error.retriable === true;
      if (!retriable || attempt >= 5) throw error;
      await new Promise((done) => setTimeout(done, 500 * attempt));
    }
  }
}

/** A snapshot with each model's details in timestamp order (details of several nodes interleave). */
export function sortedDetails(snapshot: StatisticsSnapshot): StatisticsSnapshot {
  const copy = structuredClone(snapshot);
  for (const api of Object.values(copy.apis)) {
    for (const model of Object.values(api.models)) {
      model.details.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.source.localeCompare(b.source)));
    }
  }
  return copy;
}

/** A seeded pseudo-random source in [0, 1) (mulberry32): the same seed, the same "random" moments. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An aggregator counting what the bridge publishes, on topics of its own, and how to remove them. */
export interface TestAggregator {
  readonly aggregator: Aggregator;
  readonly topics: { readonly recordsTopic: string; readonly dlqTopic: string; readonly snapshotsTopic: string };
  /** Stops the aggregator and deletes its topics. */
  close(): Promise<void>;
}

/** Starts an aggregator (3 partitions, quick snapshots, silent) on new topics named after `prefix`. */
export async function startTestAggregator(
  brokers: string[],
  prefix: string,
  overrides: Partial<AggregatorOptions> = {},
): Promise<TestAggregator> {
  const base = uniqueName(prefix);
  const topics = { recordsTopic: `${base}.records`, dlqTopic: `${base}.records.dlq`, snapshotsTopic: `${base}.snapshots` };
  const aggregator = createAggregator({
    brokers,
    clientId: `${base}-aggregator`,
    groupId: `${base}-group`,
    instanceId: `${prefix}-1`,
    ...topics,
    partitions: 3,
    snapshotIntervalMs: 1_000,
    snapshotEveryRecords: 10_000,
    fullSnapshotEvery: 4,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    rebalanceTimeoutMs: 20_000,
    logger: pino({ level: "silent" }),
    ...overrides,
  });
  await aggregator.start();
  return {
    aggregator,
    topics,
    async close() {
      await aggregator.stop();
      const admin = testKafka(brokers).admin();
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const names = Object.values(topics).filter((name) => existing.has(name));
      if (names.length > 0) await admin.deleteTopics({ topics: names }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
