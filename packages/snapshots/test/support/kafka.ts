import { testKafka, uniqueName } from "@usage-ledger/kafka-broker/testing";
import { Partitioners, type Admin, type Kafka, type Producer } from "kafkajs";
import { ensureSnapshotTopic, type EnsureSnapshotTopicOptions, type EnsuredSnapshotTopic } from "../../src/index";
import { openSnapshotLog, type LogRecord } from "../../src/kafka/log-reader";
import type { SnapshotLogger } from "../../src/logger";

/** A Kafka client, a connected admin and producer, and a fresh snapshot topic; `cleanup()` deletes it. */
export interface SnapshotFixture {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly producer: Producer;
  readonly topic: EnsuredSnapshotTopic;
  readonly sourceTopic: string;
  readonly logger: SnapshotLogger & { readonly lines: Array<{ level: string; message: string; context: object }> };
  cleanup(): Promise<void>;
}

/** A logger that keeps every line (tests assert on behaviour, and may look at what was logged). */
function memoryLogger(): SnapshotFixture["logger"] {
  const lines: Array<{ level: string; message: string; context: object }> = [];
  const at = (level: string) => (context: object, message: string) => void lines.push({ level, message, context });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export async function snapshotFixture(brokers: string[], options: EnsureSnapshotTopicOptions = {}): Promise<SnapshotFixture> {
  const kafka = testKafka(brokers);
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();
  const logger = memoryLogger();
  const topic = await ensureSnapshotTopic(admin, { topic: uniqueName("snapshots"), logger, ...options });
  return {
    kafka,
    admin,
    producer,
    topic,
    sourceTopic: uniqueName("records"),
    logger,
    async cleanup() {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic.name] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/** Every record of the topic up to its current end, in log order per partition (superseded values and tombstones included). */
export async function readRaw(kafka: Kafka, topic: string): Promise<Array<LogRecord & { partition: number }>> {
  const records: Array<LogRecord & { partition: number }> = [];
  const log = await openSnapshotLog({
    kafka,
    topic,
    logger: memoryLogger(),
    onRecords: (partition, batch) => {
      for (const record of batch) records.push({ ...record, partition });
    },
  });
  try {
    await log.caughtUp;
  } finally {
    await log.close();
  }
  return records;
}

/** The latest value of each key (`null` = tombstone). */
export function latestValues(records: ReadonlyArray<LogRecord>): Map<string, Buffer | null> {
  const latest = new Map<string, Buffer | null>();
  for (const record of records) latest.set(record.key, record.value);
  return latest;
}

/** Polls until `condition` holds; fails after `timeoutMs` (a guard against hangs, not a speed check). */
export async function eventually(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}
