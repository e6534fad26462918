import kafkajs from "kafkajs";
import type { Admin } from "kafkajs";
import { DEFAULT_TOPICS } from "@usage-ledger/kafka-contract";
import { errorMessage, SnapshotError } from "../errors";

// kafkajs is CommonJS and Node's ESM loader cannot see this named export (vitest can, plain Node cannot).
const { ConfigResourceTypes } = kafkajs;
import { isTopicName } from "../format/keys";
import { silentLogger, type SnapshotLogger } from "../logger";

/** The default name of the snapshot topic. */
export const DEFAULT_SNAPSHOT_TOPIC = DEFAULT_TOPICS.snapshots;

/** What writers need to know of the snapshot topic ({@link ensureSnapshotTopic} returns it). */
export interface SnapshotTopic {
  readonly name: string;
  /** Its partition count (it must never change: see `snapshotPartitionFor`). */
  readonly partitions: number;
  /** Its effective max.message.bytes, read back from the broker. */
  readonly maxMessageBytes: number;
}

/** Options of {@link ensureSnapshotTopic}. Every setting is written explicitly when the topic is created. */
export interface EnsureSnapshotTopicOptions {
  /** Default `usage.snapshots`. */
  readonly topic?: string;
  /** Partitions when created. Default 1. */
  readonly partitions?: number;
  /** Replication factor when created. Default -1 (the broker's default.replication.factor). */
  readonly replicationFactor?: number;
  /** max.message.bytes. Default 1,048,576 (1 MiB). */
  readonly maxMessageBytes?: number;
  /** min.compaction.lag.ms: how long a superseded value stays readable. Default 60,000. */
  readonly minCompactionLagMs?: number;
  /** delete.retention.ms: how long tombstones stay readable. Default 86,400,000 (1 day). */
  readonly deleteRetentionMs?: number;
  /** segment.ms: only closed segments are compacted. Default 3,600,000 (1 hour). */
  readonly segmentMs?: number;
  /** segment.bytes. Default 67,108,864 (64 MiB). */
  readonly segmentBytes?: number;
  /** min.cleanable.dirty.ratio. Default 0.5. */
  readonly minCleanableDirtyRatio?: number;
  /** min.insync.replicas; not set when undefined. */
  readonly minInsyncReplicas?: number;
  /** How long to wait for a created topic's metadata to show it with leaders. Default 30,000 ms. */
  readonly timeoutMs?: number;
  readonly logger?: SnapshotLogger;
}

/** The result of {@link ensureSnapshotTopic}. */
export interface EnsuredSnapshotTopic extends SnapshotTopic {
  /** Whether this call created the topic. */
  readonly created: boolean;
  /** The topic's effective configuration as read back (the settings this package cares about). */
  readonly config: Readonly<Record<string, string>>;
}

const CONFIG_NAMES = [
  "cleanup.policy",
  "max.message.bytes",
  "min.compaction.lag.ms",
  "delete.retention.ms",
  "segment.ms",
  "segment.bytes",
  "min.cleanable.dirty.ratio",
];

/**
 * Creates the snapshot topic if it is missing, with `cleanup.policy=compact` and every setting
 * explicit, then reads its configuration back. Throws `SNAPSHOT_TOPIC_MISCONFIGURED` when an
 * existing topic is not compacted (exactly `compact`: a `delete` policy could drop the manifest in
 * force), `SNAPSHOT_INVALID_OPTIONS` for bad options and `SNAPSHOT_READ_FAILED` when Kafka fails.
 * The admin client must be connected.
 */
export async function ensureSnapshotTopic(admin: Admin, options: EnsureSnapshotTopicOptions = {}): Promise<EnsuredSnapshotTopic> {
  const topic = options.topic ?? DEFAULT_SNAPSHOT_TOPIC;
  const logger = options.logger ?? silentLogger;
  if (!isTopicName(topic)) throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", `not a Kafka topic name: ${JSON.stringify(topic)}`);
  const partitions = positive(options.partitions ?? 1, "partitions");
  const maxMessageBytes = positive(options.maxMessageBytes ?? 1_048_576, "maxMessageBytes");
  if (maxMessageBytes < 64 * 1024) {
    throw new SnapshotError(
      "SNAPSHOT_INVALID_OPTIONS",
      `maxMessageBytes ${String(maxMessageBytes)} is too small for snapshot chunks (at least 65536)`,
    );
  }
  const configEntries = [
    { name: "cleanup.policy", value: "compact" },
    { name: "max.message.bytes", value: String(maxMessageBytes) },
    { name: "min.compaction.lag.ms", value: String(nonNegative(options.minCompactionLagMs ?? 60_000, "minCompactionLagMs")) },
    { name: "delete.retention.ms", value: String(nonNegative(options.deleteRetentionMs ?? 86_400_000, "deleteRetentionMs")) },
    { name: "segment.ms", value: String(positive(options.segmentMs ?? 3_600_000, "segmentMs")) },
    { name: "segment.bytes", value: String(positive(options.segmentBytes ?? 67_108_864, "segmentBytes")) },
    { name: "min.cleanable.dirty.ratio", value: String(options.minCleanableDirtyRatio ?? 0.5) },
  ];
  if (options.minInsyncReplicas !== undefined) {
    configEntries.push({ name: "min.insync.replicas", value: String(positive(options.minInsyncReplicas, "minInsyncReplicas")) });
  }
  let created = false;
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      created = await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: partitions, replicationFactor: options.replicationFactor ?? -1, configEntries }],
      });
    }
  } catch (error) {
    // Another instance may have created it at the same moment, or kafkajs gave up waiting for the
    // new topic's leaders (a retriable metadata error): the read-back below decides.
    const { type, retriable } = error as { type?: string; retriable?: boolean };
    if (type !== "TOPIC_ALREADY_EXISTS" && retriable !== true && !errorMessage(error).includes("already exists")) {
      throw new SnapshotError("SNAPSHOT_READ_FAILED", `cannot create snapshot topic ${topic}: ${errorMessage(error)}`, { cause: error });
    }
    // It was missing a moment ago: unless someone else's creation won, this call created it.
    created = type !== "TOPIC_ALREADY_EXISTS" && !errorMessage(error).includes("already exists");
    logger.debug({ topic, err: error }, "snapshot topic creation: reading it back");
  }
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let described: Awaited<ReturnType<typeof describeSnapshotTopic>>;
  for (;;) {
    try {
      described = await describeSnapshotTopic(admin, topic);
      break;
    } catch (error) {
      const retry = error instanceof SnapshotError && (error.code === "SNAPSHOT_TOPIC_MISSING" || error.retryable);
      if (!retry || Date.now() > deadline) throw error;
      await new Promise((done) => setTimeout(done, 250));
    }
  }
  logger.info(
    { topic, created, partitions: described.partitions, maxMessageBytes: described.maxMessageBytes },
    created ? "snapshot topic created" : "snapshot topic exists",
  );
  return { ...described, created };
}

/**
 * Reads the snapshot topic's partition count and configuration. Throws `SNAPSHOT_TOPIC_MISSING`,
 * `SNAPSHOT_TOPIC_MISCONFIGURED` (not `cleanup.policy=compact`) or `SNAPSHOT_READ_FAILED`.
 */
export async function describeSnapshotTopic(
  admin: Admin,
  topic: string,
): Promise<SnapshotTopic & { readonly config: Readonly<Record<string, string>> }> {
  let partitions: number;
  let config: Record<string, string>;
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) throw new SnapshotError("SNAPSHOT_TOPIC_MISSING", `snapshot topic ${topic} does not exist`);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const found = metadata.topics.find((entry) => entry.name === topic)?.partitions ?? [];
    if (found.some((partition) => partition.leader < 0)) {
      throw new SnapshotError("SNAPSHOT_READ_FAILED", `snapshot topic ${topic} has partitions without a leader`);
    }
    partitions = found.length;
    const response = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: CONFIG_NAMES }],
    });
    config = {};
    for (const entry of response.resources[0]?.configEntries ?? []) config[entry.configName] = entry.configValue;
  } catch (error) {
    if (error instanceof SnapshotError) throw error;
    throw new SnapshotError("SNAPSHOT_READ_FAILED", `cannot describe snapshot topic ${topic}: ${errorMessage(error)}`, { cause: error });
  }
  if (config["cleanup.policy"] !== "compact") {
    throw new SnapshotError(
      "SNAPSHOT_TOPIC_MISCONFIGURED",
      `snapshot topic ${topic} has cleanup.policy=${config["cleanup.policy"] ?? "?"}, not compact`,
    );
  }
  const maxMessageBytes = Number(config["max.message.bytes"]);
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes <= 0 || partitions < 1) {
    throw new SnapshotError(
      "SNAPSHOT_TOPIC_MISCONFIGURED",
      `snapshot topic ${topic}: max.message.bytes ${String(config["max.message.bytes"])}, ${String(partitions)} partitions`,
    );
  }
  return { name: topic, partitions, maxMessageBytes, config };
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", `${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", `${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}
