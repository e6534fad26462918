import kafkajs from "kafkajs";
import type { Admin } from "kafkajs";
import type { Logger } from "pino";

/** Retention of the records topic: far longer than any snapshot interval, so a restore always finds its tail. */
const RECORDS_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** The broker's default message size limit (1 MiB + record overhead), kept explicit on our topics. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/**
 * Room the dead-letter copy of a record needs beyond the record itself: the reason headers (code,
 * message, source topic, partition, offset). The DLQ topic accepts this much more than the records topic.
 */
const DLQ_HEADER_ALLOWANCE_BYTES = 64 * 1024;

/** Options of {@link ensureRecordTopics}. */
export interface EnsureRecordTopicsOptions {
  readonly recordsTopic: string;
  readonly dlqTopic: string;
  /** Partitions of the records topic when it is created (an existing topic keeps its own). */
  readonly partitions: number;
  /** max.message.bytes of the records topic when it is created; default {@link DEFAULT_MAX_MESSAGE_BYTES}. */
  readonly maxMessageBytes?: number;
  /** retention.ms of both topics when created; default {@link RECORDS_RETENTION_MS}. */
  readonly retentionMs?: number;
  readonly logger: Logger;
}

/** What {@link ensureRecordTopics} found or made. */
export interface RecordTopicsInfo {
  /** Partition count of the records topic as it exists now. */
  readonly partitions: number;
  /** max.message.bytes of the records topic as the broker reports it. */
  readonly maxMessageBytes: number;
  /** Topics this call created. */
  readonly created: readonly string[];
}

/**
 * Creates `usage.records` and `usage.records.dlq` if missing, with explicit settings (delete
 * policy, retention far longer than the snapshot interval, message size limits), and reads back the
 * records topic's partition count and max.message.bytes. Safe when several instances race to create.
 */
export async function ensureRecordTopics(admin: Admin, options: EnsureRecordTopicsOptions): Promise<RecordTopicsInfo> {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const retentionMs = String(options.retentionMs ?? RECORDS_RETENTION_MS);
  const existing = new Set(await admin.listTopics());
  const wanted = [
    {
      topic: options.recordsTopic,
      numPartitions: options.partitions,
      configEntries: [
        { name: "cleanup.policy", value: "delete" },
        { name: "retention.ms", value: retentionMs },
        { name: "retention.bytes", value: "-1" },
        { name: "max.message.bytes", value: String(maxMessageBytes) },
        { name: "message.timestamp.type", value: "CreateTime" },
      ],
    },
    {
      topic: options.dlqTopic,
      numPartitions: 1,
      configEntries: [
        { name: "cleanup.policy", value: "delete" },
        { name: "retention.ms", value: retentionMs },
        { name: "retention.bytes", value: "-1" },
        { name: "max.message.bytes", value: String(maxMessageBytes + DLQ_HEADER_ALLOWANCE_BYTES) },
      ],
    },
  ].filter((topic) => !existing.has(topic.topic));
  const created: string[] = [];
  if (wanted.length > 0) {
    // false = some already existed (another instance won the race): fine, the checks below read them.
    await admin.createTopics({ topics: wanted, waitForLeaders: true });
    created.push(...wanted.map((topic) => topic.topic));
    options.logger.info({ topics: created }, "created topics");
  }
  const metadata = await admin.fetchTopicMetadata({ topics: [options.recordsTopic] });
  const partitions = metadata.topics[0]?.partitions.length ?? 0;
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: options.recordsTopic, configNames: ["max.message.bytes"] }],
  });
  const entry = described.resources[0]?.configEntries.find((config) => config.configName === "max.message.bytes");
  const actualMaxBytes = entry === undefined ? maxMessageBytes : Number(entry.configValue);
  return { partitions, maxMessageBytes: Number.isFinite(actualMaxBytes) ? actualMaxBytes : maxMessageBytes, created };
}

/**
 * Runs a topic set-up step again while it fails with a retryable error (a new topic's metadata
 * takes a moment to reach every broker listener: kafkajs then reports UNKNOWN_TOPIC_OR_PARTITION),
 * up to `attempts` times.
 */
export async function retryTopicSetup<T>(what: string, logger: Logger, step: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      logger.warn({ err: error, attempt }, `${what} failed; retrying`);
      await new Promise((done) => setTimeout(done, Math.min(5_000, 250 * attempt)));
    }
  }
}

function isRetryable(error: unknown): boolean {
  for (let cause: unknown = error; typeof cause === "object" && cause !== null; cause = (cause as { cause?: unknown }).cause) {
    const flags = cause as { retriable?: unknown; retryable?: unknown };
    if (flags.retriable === true || flags.retryable === true) return true;
  }
  return false;
}
