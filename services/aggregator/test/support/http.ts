import { Kafka, logLevel } from "kafkajs";
import { pino } from "pino";
import type { FastifyInstance } from "fastify";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import type { RequestStatistics, StatisticsSnapshot } from "@usage-ledger/statistics";
import { createAggregator } from "../../src/index";
import type { Aggregator } from "../../src/index";
import { buildApp } from "../../src/http/app";

/** Helpers of the HTTP integration tests (test/http-*.int.test.ts): real aggregators, real broker. */

const KEY = "http-integration-key";
const auth = { authorization: `Bearer ${KEY}` };

export interface Topics {
  readonly recordsTopic: string;
  readonly dlqTopic: string;
  readonly snapshotsTopic: string;
}

/** Unique topic names for one test (the aggregator creates them). */
export function uniqueTopics(prefix: string): Topics {
  const base = uniqueName(prefix);
  return { recordsTopic: `${base}.records`, dlqTopic: `${base}.records.dlq`, snapshotsTopic: `${base}.snapshots` };
}

export function quietKafka(brokers: string[]): Kafka {
  return new Kafka({ clientId: uniqueName("http-test"), brokers, logLevel: logLevel.NOTHING });
}

/** Deletes the topics that exist. */
export async function deleteTopics(brokers: string[], topics: Topics): Promise<void> {
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

/** An aggregator instance with its HTTP app (not listening: requests go through inject). */
export interface Instance {
  readonly aggregator: Aggregator;
  readonly app: FastifyInstance;
  get(path: string): Promise<{ status: number; body: string; contentType: string | undefined }>;
  post(path: string, payload: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

export interface InstanceOptions {
  readonly brokers: string[];
  readonly topics: Topics;
  readonly groupId: string;
  readonly instanceId: string;
  readonly partitions: number;
  readonly snapshotIntervalMs?: number;
}

/** Creates, starts and serves one aggregator instance. */
export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const logger = pino({ level: "silent" });
  const aggregator = createAggregator({
    brokers: options.brokers,
    clientId: `http-test-${options.instanceId}`,
    groupId: options.groupId,
    instanceId: options.instanceId,
    ...options.topics,
    partitions: options.partitions,
    snapshotIntervalMs: options.snapshotIntervalMs ?? 1000,
    snapshotEveryRecords: 20_000,
    fullSnapshotEvery: 4,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
    rebalanceTimeoutMs: 20_000,
    logger,
  });
  await aggregator.start();
  const app = await buildApp({
    aggregator,
    config: {
      managementKey: KEY,
      allowRemoteManagement: true,
      bodyLimitBytes: 64 * 1024 * 1024,
      build: { version: "test", commit: "none", buildDate: "unknown" },
    },
    logger,
  });
  let stopped = false;
  return {
    aggregator,
    app,
    async get(path) {
      const response = await app.inject({ method: "GET", url: path, headers: auth });
      const contentType = response.headers["content-type"];
      return { status: response.statusCode, body: response.body, contentType: typeof contentType === "string" ? contentType : undefined };
    },
    async post(path, payload) {
      const response = await app.inject({ method: "POST", url: path, headers: auth, payload });
      return { status: response.statusCode, body: response.body };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.close();
      await aggregator.stop();
    },
  };
}

/** Polls until `condition` holds; fails after `timeoutMs` (a guard against hangs, not a speed check). */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The `usage` of a GET /v0/management/usage body. */
export function usageOf(body: string): StatisticsSnapshot {
  return (JSON.parse(body) as { usage: StatisticsSnapshot }).usage;
}

/** A snapshot with each model's details in timestamp order (detail order is not part of a comparison across sources). */
export function sortedDetails(snapshot: StatisticsSnapshot): StatisticsSnapshot {
  const copy = structuredClone(snapshot);
  for (const api of Object.values(copy.apis)) {
    for (const model of Object.values(api.models)) {
      model.details.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
    }
  }
  return copy;
}

/** The statistics as a plain snapshot with sorted details. */
export function sortedSnapshotOf(statistics: RequestStatistics): StatisticsSnapshot {
  return sortedDetails(statistics.snapshot());
}
