import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, Partitioners } from "kafkajs";
import type { Admin, Message } from "kafkajs";
import pino from "pino";
import type { Logger } from "pino";
import { startLocalBroker } from "@usage-ledger/kafka-broker";
import { kafkaClientConfig } from "@usage-ledger/kafka-contract";
import { benchKafkaSecurity } from "./bench-config";
import type { LocalBroker } from "@usage-ledger/kafka-broker";
import { ensureRecordTopics } from "@usage-ledger/aggregator";
import { ensureSnapshotTopic } from "@usage-ledger/snapshots";
import type { SnapshotTopic } from "@usage-ledger/snapshots";

/** The Kafka a benchmark run talks to. */
export interface BenchKafka {
  readonly brokers: string[];
  /** `local` (a broker started for this run, stopped at the end) or `external` (KAFKA_BROKERS). */
  readonly source: "local" | "external";
  /** The broker's Java heap when local. */
  readonly heapMb: number | undefined;
  readonly logger: Logger;
  /** The file {@link logger} writes to (child processes append to it too). */
  readonly logFile: string;
  /** A kafkajs client whose logs go to {@link logger}. */
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** Disconnects, deletes every topic this run created, stops a local broker and removes its folder. */
  close(): Promise<void>;
  /** Remembers a topic to delete at the end. */
  track(topic: string): string;
  /** Deletes topics now (those that exist). */
  deleteTopics(topics: readonly string[]): Promise<void>;
}

const BROKER_HEAP_MB = 1536;

/**
 * Provides the broker: `KAFKA_BROKERS` when set, else a local broker (infra/kafka, 1.5 GiB heap)
 * in its own temporary folder. Logs (warnings and errors of kafkajs and of the system under test)
 * go to `logFile`.
 */
export async function provideBenchKafka(options: {
  kafkaBrokers: readonly string[];
  logFile: string;
  onLine: (line: string) => void;
}): Promise<BenchKafka> {
  const logger = pino({ level: "warn", base: { bench: "parent" } }, pino.destination({ dest: options.logFile, append: true, sync: true }));
  const external = [...options.kafkaBrokers];
  let local: LocalBroker | undefined;
  let workDir: string | undefined;
  if (external.length === 0) {
    workDir = mkdtempSync(join(tmpdir(), "usage-ledger-bench-kafka-"));
    local = await startLocalBroker({ workDir, heapMb: BROKER_HEAP_MB, onLine: options.onLine });
  } else {
    options.onLine(`using the Kafka cluster at ${external.join(",")} (KAFKA_BROKERS)`);
  }
  const brokers = local?.brokers ?? external;
  const kafka = benchKafkaClient(brokers, logger, "usage-ledger-bench");
  const admin = kafka.admin();
  await admin.connect();
  const created = new Set<string>();
  const deleteTopics = async (topics: readonly string[]): Promise<void> => {
    const existing = new Set(await admin.listTopics());
    const names = topics.filter((topic) => existing.has(topic));
    if (names.length > 0)
      await admin
        .deleteTopics({ topics: names, timeout: 60_000 })
        .catch((error: unknown) => logger.warn({ err: error }, "topic deletion failed"));
    for (const name of topics) created.delete(name);
  };
  return {
    brokers,
    source: local === undefined ? "external" : "local",
    heapMb: local === undefined ? undefined : BROKER_HEAP_MB,
    logger,
    logFile: options.logFile,
    kafka,
    admin,
    track(topic) {
      created.add(topic);
      return topic;
    },
    deleteTopics,
    async close() {
      if (local === undefined) await deleteTopics([...created]).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      if (local !== undefined) await local.stop();
      if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
      logger.flush();
    },
  };
}

/** A kafkajs client logging into `logger` (the project's rule: no console output from kafkajs), with the run's TLS and SASL. */
export function benchKafkaClient(brokers: string[], logger: Logger, clientId: string): Kafka {
  return new Kafka(kafkaClientConfig({ clientId, brokers, logger, security: benchKafkaSecurity() }));
}

/** A topic name no other run uses. */
export function uniqueTopic(prefix: string): string {
  return `bench.${prefix}.${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/**
 * Creates a records topic and its dead-letter topic as the aggregator would (delete policy, long
 * retention), with `partitions` partitions. Returns the dead-letter topic's name.
 */
export async function createRecordsTopic(bench: BenchKafka, topic: string, partitions: number, dlqTopic = `${topic}.dlq`): Promise<string> {
  bench.track(topic);
  bench.track(dlqTopic);
  await retried(() => ensureRecordTopics(bench.admin, { recordsTopic: topic, dlqTopic, partitions, logger: bench.logger }));
  return dlqTopic;
}

/** Creates a snapshot topic with the settings the aggregator gives it. */
export async function createSnapshotTopic(bench: BenchKafka, topic: string): Promise<SnapshotTopic> {
  bench.track(topic);
  return retried(() => ensureSnapshotTopic(bench.admin, { topic, logger: bench.logger }));
}

/**
 * Retries a topic administration step: right after a topic is created, kafkajs's metadata calls
 * may still see UNKNOWN_TOPIC_OR_PARTITION for a moment on a loaded machine.
 */
async function retried<T>(step: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((done) => setTimeout(done, 500 * attempt));
    }
  }
}

/** End offsets (high watermarks) of every partition of a topic, by partition. */
export async function endOffsets(admin: Admin, topic: string): Promise<number[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const ends: number[] = [];
  for (const entry of offsets) ends[entry.partition] = Number(entry.high);
  return ends;
}

/** One message to pre-produce, with its partition decided by the caller (murmur2 of the key). */
export interface PreparedMessage {
  readonly partition: number;
  readonly key: string;
  readonly value: Buffer;
}

/**
 * Pre-produces messages as fast as the broker takes them: a plain (non-idempotent) kafkajs producer,
 * batches of `batchSize` messages per request and `inFlight` requests at once, acks 1. `next`
 * hands out the messages in order and `undefined` at the end. Returns the messages written.
 */
export async function preProduce(
  bench: BenchKafka,
  topic: string,
  next: () => PreparedMessage | undefined,
  options: { batchSize?: number; inFlight?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 4_000;
  const inFlight = options.inFlight ?? 4;
  const producer = bench.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  let written = 0;
  let done = false;
  const sending = new Set<Promise<void>>();
  let failure: unknown;
  try {
    while (!done && failure === undefined) {
      const messages: Message[] = [];
      while (messages.length < batchSize) {
        const message = next();
        if (message === undefined) {
          done = true;
          break;
        }
        messages.push({ key: message.key, value: message.value, partition: message.partition });
      }
      if (messages.length === 0) break;
      const send = producer
        .send({ topic, acks: 1, messages })
        .then(() => {
          written += messages.length;
        })
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => sending.delete(send));
      sending.add(send);
      if (sending.size >= inFlight) await Promise.race(sending);
    }
    await Promise.all(sending);
  } finally {
    await producer.disconnect();
  }
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(`pre-produce failed: ${JSON.stringify(failure)}`);
  return written;
}

/** A temporary folder for a run's scratch files (CPU profiles, logs). */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** `promise`, or a rejection after `ms` (a guard against a hung run, not a speed check). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, fail) => {
        timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
