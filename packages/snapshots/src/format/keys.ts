import { SnapshotError } from "../errors";

/**
 * Record keys on the snapshot topic (UTF-8 text, `/`-separated; Kafka topic names cannot contain `/`):
 *
 * - manifest: `m/<sourceTopic>/<partition>/<epoch>`
 * - chunk:    `c/<sourceTopic>/<partition>/<epoch>/<generation>/<index>`
 *
 * Numbers are non-negative decimal integers without leading zeros. One manifest key per writer
 * epoch: compaction keeps that epoch's latest generation, and a writer of an older epoch can only
 * ever overwrite its own (lower) key, never the manifest of a newer owner.
 */
export type SnapshotKey = ManifestKey | ChunkKey;

/** The key of the manifest of one writer epoch of one source partition. */
export interface ManifestKey {
  readonly type: "manifest";
  readonly sourceTopic: string;
  readonly partition: number;
  readonly epoch: number;
}

/** The key of one chunk of one generation. */
export interface ChunkKey {
  readonly type: "chunk";
  readonly sourceTopic: string;
  readonly partition: number;
  readonly epoch: number;
  readonly generation: number;
  readonly index: number;
}

/** Kafka's rule for topic names: 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const NUMBER = /^(?:0|[1-9][0-9]{0,15})$/;

/** Whether `name` is a legal Kafka topic name (and so safe inside a key). */
export function isTopicName(name: unknown): name is string {
  return typeof name === "string" && TOPIC_NAME.test(name) && name !== "." && name !== "..";
}

function checkNumber(value: number, what: string): string {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SnapshotError("SNAPSHOT_INVALID_KEY", `${what} must be a non-negative safe integer, got ${String(value)}`);
  }
  return String(value);
}

function checkTopic(topic: string): string {
  if (!isTopicName(topic)) throw new SnapshotError("SNAPSHOT_INVALID_KEY", `not a Kafka topic name: ${JSON.stringify(topic)}`);
  return topic;
}

/** `m/<sourceTopic>/<partition>/<epoch>`. Throws `SNAPSHOT_INVALID_KEY` for an illegal part. */
export function manifestKey(key: Omit<ManifestKey, "type">): string {
  return `m/${checkTopic(key.sourceTopic)}/${checkNumber(key.partition, "partition")}/${checkNumber(key.epoch, "epoch")}`;
}

/** `c/<sourceTopic>/<partition>/<epoch>/<generation>/<index>`. Throws `SNAPSHOT_INVALID_KEY` for an illegal part. */
export function chunkKey(key: Omit<ChunkKey, "type">): string {
  return [
    "c",
    checkTopic(key.sourceTopic),
    checkNumber(key.partition, "partition"),
    checkNumber(key.epoch, "epoch"),
    checkNumber(key.generation, "generation"),
    checkNumber(key.index, "index"),
  ].join("/");
}

/**
 * Parses a key of the snapshot topic; `undefined` for anything that is not exactly one of the two
 * formats (other keys on the topic are ignored by readers, never an error).
 */
export function parseSnapshotKey(key: string): SnapshotKey | undefined {
  const parts = key.split("/");
  const [type, sourceTopic] = parts;
  if (sourceTopic === undefined || !isTopicName(sourceTopic)) return undefined;
  const numbers: number[] = [];
  for (const part of parts.slice(2)) {
    if (!NUMBER.test(part)) return undefined;
    const value = Number(part);
    if (!Number.isSafeInteger(value)) return undefined;
    numbers.push(value);
  }
  if (type === "m" && numbers.length === 2) {
    const [partition = 0, epoch = 0] = numbers;
    return { type: "manifest", sourceTopic, partition, epoch };
  }
  if (type === "c" && numbers.length === 4) {
    const [partition = 0, epoch = 0, generation = 0, index = 0] = numbers;
    return { type: "chunk", sourceTopic, partition, epoch, generation, index };
  }
  return undefined;
}

/**
 * The snapshot-topic partition that holds every record of source partition `partition`:
 * `partition mod snapshotPartitions`. All of a source partition's records share one partition, so
 * its chunks precede its manifest in log order and a restore reads one partition only. The snapshot
 * topic's partition count must therefore never change.
 */
export function snapshotPartitionFor(partition: number, snapshotPartitions: number): number {
  if (!Number.isSafeInteger(partition) || partition < 0) {
    throw new SnapshotError("SNAPSHOT_INVALID_OPTIONS", `partition must be a non-negative integer, got ${String(partition)}`);
  }
  if (!Number.isSafeInteger(snapshotPartitions) || snapshotPartitions < 1) {
    throw new SnapshotError(
      "SNAPSHOT_INVALID_OPTIONS",
      `snapshot topic partitions must be a positive integer, got ${String(snapshotPartitions)}`,
    );
  }
  return partition % snapshotPartitions;
}
