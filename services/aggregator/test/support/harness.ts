import { Kafka, logLevel } from "kafkajs";
import type { Admin } from "kafkajs";
import pino from "pino";
import type { Logger } from "pino";
import { afterAll, beforeAll, expect } from "vitest";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import type { RequestStatistics } from "@usage-ledger/statistics";
import { createAggregator } from "../../src/index";
import { snapshotDigest } from "./digest";
import type { Aggregator, AggregatorEvent, AggregatorOptions } from "../../src/index";

/** Topic names of one test (unique per test and run). */
export interface TestTopics {
  readonly recordsTopic: string;
  readonly dlqTopic: string;
  readonly snapshotsTopic: string;
}

/** Fresh, unique topic names (the aggregator creates the topics). */
export function testTopics(prefix: string): TestTopics {
  const base = uniqueName(prefix);
  return { recordsTopic: `${base}.records`, dlqTopic: `${base}.records.dlq`, snapshotsTopic: `${base}.snapshots` };
}

/** Deletes a test's topics (ignoring those that were never created). */
export async function deleteTopics(brokers: string[], topics: TestTopics): Promise<void> {
  const admin = quietKafka(brokers).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const names = [topics.recordsTopic, topics.dlqTopic, topics.snapshotsTopic].filter((name) => existing.has(name));
    if (names.length > 0) await admin.deleteTopics({ topics: names }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** What {@link useTestTopics} gives a test file. */
export interface TopicsFixture {
  readonly topics: TestTopics;
  /** A quiet client of the test broker. */
  readonly kafka: Kafka;
  /** An admin client, connected before the file's tests and disconnected after. */
  readonly admin: Admin;
}

/**
 * The set-up most integration files share: fresh topic names, a quiet client and a connected admin.
 * After the file's tests, `stopFirst` ends what the tests started (aggregators, child processes),
 * then the topics are deleted and the admin disconnected. Call it in a `describe` body.
 */
export function useTestTopics(brokers: string[], prefix: string, stopFirst: () => Promise<unknown> = async () => undefined): TopicsFixture {
  const topics = testTopics(prefix);
  const kafka = quietKafka(brokers);
  const admin = kafka.admin();
  beforeAll(async () => {
    await admin.connect();
  });
  afterAll(async () => {
    await stopFirst();
    await deleteTopics(brokers, topics);
    await admin.disconnect();
  });
  return { topics, kafka, admin };
}

/** A kafkajs client that logs nothing (tests assert instead). */
export function quietKafka(brokers: string[]): Kafka {
  return new Kafka({ clientId: uniqueName("test-client"), brokers, logLevel: logLevel.NOTHING });
}

/**
 * The tests' logger: silent unless `LEDGER_TEST_LOG` names a file (then JSON lines at
 * `LEDGER_TEST_LOG_LEVEL`, default info), for looking into a failing run.
 */
export function testLogger(name: string): Logger {
  const file = process.env.LEDGER_TEST_LOG;
  if (file === undefined || file === "") return pino({ level: "silent" });
  return pino(
    { level: process.env.LEDGER_TEST_LOG_LEVEL ?? "info", base: { test: name } },
    pino.destination({ dest: file, append: true, sync: true }),
  );
}

/** Polls `condition` until true; fails with `what` after `timeoutMs` (a guard against hangs, not a speed check). */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Aggregator options for a test: small snapshot intervals, short session timeouts. */
export function aggregatorOptions(
  brokers: string[],
  topics: TestTopics,
  overrides: Partial<AggregatorOptions> & { readonly instanceId: string; readonly groupId: string },
): AggregatorOptions {
  return {
    brokers,
    clientId: `test-${overrides.instanceId}`,
    partitions: 6,
    snapshotIntervalMs: 1_000,
    snapshotEveryRecords: 20_000,
    fullSnapshotEvery: 4,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    rebalanceTimeoutMs: 20_000,
    logger: testLogger(overrides.instanceId),
    ...topics,
    ...overrides,
  };
}

/** An aggregator with its event log. */
export interface RunningAggregator {
  readonly aggregator: Aggregator;
  readonly events: AggregatorEvent[];
}

/** Creates and starts an aggregator that records its event log. */
export async function startAggregator(options: AggregatorOptions): Promise<RunningAggregator> {
  const events: AggregatorEvent[] = [];
  const aggregator = createAggregator({
    ...options,
    onEvent: (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  });
  await aggregator.start();
  return { aggregator, events };
}

/** The end offsets (high watermarks) of every partition of a topic. */
export async function endOffsets(admin: Admin, topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((entry) => [entry.partition, Number(entry.high)]));
}

/**
 * True when the given aggregators together own every partition of the records topic live, each at
 * the partition's end offset (everything published is applied).
 */
export async function caughtUp(admin: Admin, topic: string, aggregators: readonly Aggregator[]): Promise<boolean> {
  const ends = await endOffsets(admin, topic);
  const next = new Map<number, number>();
  for (const aggregator of aggregators) {
    for (const partition of aggregator.progress().partitions) {
      if (partition.state === "live" && partition.nextOffset !== undefined) next.set(partition.partition, partition.nextOffset);
    }
  }
  for (const [partition, end] of ends) {
    if ((next.get(partition) ?? -1) < end) return false;
  }
  return true;
}

/**
 * Asserts that two statistics are the same: totals and detail count first (a readable difference),
 * then the whole snapshot JSON (by digest: the JSON of 200,000 details is tens of megabytes).
 */
export function expectSameStatistics(actual: RequestStatistics, expected: RequestStatistics): void {
  expect({ totals: actual.totals(), details: actual.detailCount }).toEqual({
    totals: expected.totals(),
    details: expected.detailCount,
  });
  expect(snapshotDigest(actual)).toBe(snapshotDigest(expected));
}

/**
 * Asserts the ownership invariant of an event log: every `applied` event of a partition carries
 * the token of an ownership that was `restored` and went `live` before it, and no partition is
 * applied under a token after that token was `revoked`.
 */
export function expectRestoredBeforeApplied(events: readonly AggregatorEvent[]): void {
  const restored = new Set<string>();
  const live = new Set<string>();
  const revoked = new Set<string>();
  const violations: string[] = [];
  for (const event of events) {
    switch (event.type) {
      case "restored":
        restored.add(`${event.partition}/${event.token}`);
        break;
      case "live": {
        const key = `${event.partition}/${event.token}`;
        if (!restored.has(key)) violations.push(`live before restored: ${key}`);
        live.add(key);
        break;
      }
      case "revoked":
        revoked.add(`${event.partition}/${event.token}`);
        break;
      case "applied": {
        const key = `${event.partition}/${event.token}`;
        if (!live.has(key)) violations.push(`applied before live: ${key}`);
        if (revoked.has(key)) violations.push(`applied after revoked: ${key}`);
        break;
      }
      default:
        break;
    }
  }
  expect(violations).toEqual([]);
}
