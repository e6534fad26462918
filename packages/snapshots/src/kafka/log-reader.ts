import { randomBytes } from "node:crypto";
import type { Admin, Batch, Consumer, Kafka } from "kafkajs";
import { errorMessage, SnapshotError } from "../errors";
import type { SnapshotLogger } from "../logger";

/** One record of the snapshot topic as the readers see it. */
export interface LogRecord {
  readonly key: string;
  /** `null` = tombstone. */
  readonly value: Buffer | null;
}

/** Options of {@link openSnapshotLog}. */
export interface SnapshotLogOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** Snapshot-topic partitions to read, or a function of the topic's partition count giving them (default: all). */
  readonly partitions?: readonly number[] | ((partitionCount: number) => readonly number[]);
  readonly logger: SnapshotLogger;
  /** Called for every fetched batch of records of one partition, in log order. */
  readonly onRecords: (partition: number, records: readonly LogRecord[]) => void | Promise<void>;
  /** Group id prefix of the throw-away consumer group (a random suffix is added). */
  readonly groupIdPrefix?: string;
  /** A read that makes no progress for this long before catching up fails with `SNAPSHOT_READ_STALLED`. Default 60 s. */
  readonly stallTimeoutMs?: number;
  /** Bytes fetched per partition per request. Default 8 MiB (above any chunk). */
  readonly maxBytesPerPartition?: number;
  /** Keep reading after catching up (a follower). Default false: with nothing to read, no consumer is even started. */
  readonly follow?: boolean;
  /** Called when the consumer stops for good after catching up (kafkajs gave up restarting it). */
  readonly onFailure?: (error: SnapshotError) => void;
}

/** An open read of the snapshot topic. */
export interface SnapshotLog {
  /** The end offsets captured at start (partition → high watermark), for the partitions read. */
  readonly endOffsets: ReadonlyMap<number, bigint>;
  /** Resolves once every partition read has been consumed up to its end offset captured at start. */
  readonly caughtUp: Promise<void>;
  /** Record values consumed so far, in bytes. */
  bytesRead(): number;
  /** Stops consuming, leaves and deletes the throw-away group. */
  close(): Promise<void>;
}

/**
 * Reads snapshot-topic partitions from their start: a consumer of a fresh, throw-away group
 * (kafkajs has no group-less assignment) that never commits offsets. The end offsets are captured
 * first, so a one-shot read stops at a fixed point (`caughtUp`) however much is written meanwhile;
 * a follower keeps the read open and receives later records too. Throws `SNAPSHOT_TOPIC_MISSING`
 * when the topic does not exist and `SNAPSHOT_READ_FAILED` when Kafka fails.
 */
export async function openSnapshotLog(options: SnapshotLogOptions): Promise<SnapshotLog> {
  const { kafka, topic, logger } = options;
  const admin = kafka.admin();
  await wrapRead(() => admin.connect(), "connect the admin client");
  let offsets: Array<{ partition: number; high: string; low: string }>;
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new SnapshotError("SNAPSHOT_TOPIC_MISSING", `snapshot topic ${topic} does not exist`);
    }
    offsets = await admin.fetchTopicOffsets(topic);
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    if (error instanceof SnapshotError) throw error;
    throw new SnapshotError("SNAPSHOT_READ_FAILED", `cannot read the end offsets of ${topic}: ${errorMessage(error)}`, { cause: error });
  }
  const all = offsets.map((entry) => entry.partition);
  const chosen = typeof options.partitions === "function" ? options.partitions(all.length) : options.partitions;
  const wanted = new Set(chosen ?? all);
  const endOffsets = new Map<number, bigint>();
  const remaining = new Set<number>();
  for (const entry of offsets) {
    if (!wanted.has(entry.partition)) continue;
    const high = BigInt(entry.high);
    endOffsets.set(entry.partition, high);
    if (high > BigInt(entry.low)) remaining.add(entry.partition);
  }
  for (const partition of wanted) {
    if (!endOffsets.has(partition)) {
      await admin.disconnect().catch(() => undefined);
      throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", `snapshot topic ${topic} has no partition ${String(partition)}`);
    }
  }

  if (remaining.size === 0 && options.follow !== true) {
    await admin.disconnect().catch(() => undefined);
    return { endOffsets, caughtUp: Promise.resolve(), bytesRead: () => 0, close: async () => undefined };
  }

  const groupId = `${options.groupIdPrefix ?? "usage-ledger-snapshot-read"}-${randomBytes(8).toString("hex")}`;
  const maxBytesPerPartition = options.maxBytesPerPartition ?? 8 * 1024 * 1024;
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxBytesPerPartition,
    maxBytes: Math.max(maxBytesPerPartition, 64 * 1024 * 1024),
    maxWaitTimeInMs: 250,
    retry: { retries: 8 },
  });
  let bytes = 0;
  let lastProgress = Date.now();
  let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const caughtUp = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // A rejection nobody awaits yet (the caller awaits caughtUp later) must not crash the process.
  caughtUp.catch(() => undefined);
  const finish = (error?: Error): void => {
    if (settle === undefined) return;
    const { resolve, reject } = settle;
    settle = undefined;
    clearInterval(watchdog);
    if (error === undefined) resolve();
    else reject(error);
  };
  const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  const watchdog = setInterval(
    () => {
      if (Date.now() - lastProgress > stallTimeoutMs) {
        finish(
          new SnapshotError(
            "SNAPSHOT_READ_STALLED",
            `no progress reading ${topic} for ${String(stallTimeoutMs)} ms (partitions ${[...remaining].join(",")} not caught up)`,
          ),
        );
      }
    },
    Math.min(1000, stallTimeoutMs),
  );
  watchdog.unref();
  if (remaining.size === 0) finish();

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    lastProgress = Date.now();
    const skip = all.filter((partition) => !wanted.has(partition));
    if (skip.length > 0) consumer.pause([{ topic, partitions: skip }]);
    logger.debug({ topic, groupId, assigned: event.payload.memberAssignment[topic] ?? [] }, "snapshot topic read: joined");
  });
  consumer.on(consumer.events.CRASH, (event) => {
    const error = event.payload.error;
    logger.error({ topic, groupId, err: error, restart: event.payload.restart }, "snapshot topic read: consumer crashed");
    if (event.payload.restart) return;
    const failure = new SnapshotError("SNAPSHOT_READ_FAILED", `reading ${topic} failed: ${errorMessage(error)}`, { cause: error });
    if (settle !== undefined) finish(failure);
    else options.onFailure?.(failure);
  });

  const onBatch = async (batch: Batch): Promise<void> => {
    const partition = batch.partition;
    if (!wanted.has(partition)) return;
    const records: LogRecord[] = [];
    for (const message of batch.messages) {
      if (message.key === null) continue;
      // A copy: kafkajs hands out slices of the whole fetch response, which a kept slice would pin.
      records.push({ key: message.key.toString("utf8"), value: message.value === null ? null : Buffer.from(message.value) });
      bytes += message.value?.length ?? 0;
    }
    await options.onRecords(partition, records);
    lastProgress = Date.now();
    const end = endOffsets.get(partition) ?? 0n;
    if (remaining.has(partition) && BigInt(batch.lastOffset()) >= end - 1n) {
      remaining.delete(partition);
      if (remaining.size === 0) finish();
    }
  };

  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch: async ({ batch }) => onBatch(batch) });
  } catch (error) {
    finish(new SnapshotError("SNAPSHOT_READ_FAILED", `cannot consume ${topic}: ${errorMessage(error)}`, { cause: error }));
    await shutdown(consumer, admin, groupId, logger);
    throw new SnapshotError("SNAPSHOT_READ_FAILED", `cannot consume ${topic}: ${errorMessage(error)}`, { cause: error });
  }
  let closed: Promise<void> | undefined;
  return {
    endOffsets,
    caughtUp,
    bytesRead: () => bytes,
    close() {
      closed ??= (async () => {
        finish(new SnapshotError("SNAPSHOT_CLOSED", `the read of ${topic} was closed`));
        await shutdown(consumer, admin, groupId, logger);
      })();
      return closed;
    },
  };
}

async function shutdown(consumer: Consumer, admin: Admin, groupId: string, logger: SnapshotLogger): Promise<void> {
  await consumer.disconnect().catch((error: unknown) => logger.warn({ err: error, groupId }, "snapshot topic read: disconnect failed"));
  // The group never committed offsets; deleting it keeps the coordinator tidy. It may already be gone.
  await admin
    .deleteGroups([groupId])
    .catch((error: unknown) => logger.debug({ err: error, groupId }, "snapshot topic read: group not deleted"));
  await admin.disconnect().catch(() => undefined);
}

async function wrapRead<T>(action: () => Promise<T>, what: string): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new SnapshotError("SNAPSHOT_READ_FAILED", `cannot ${what}: ${errorMessage(error)}`, { cause: error });
  }
}
