import type { IHeaders } from "kafkajs";
import { isZeroTimestamp } from "@usage-ledger/statistics";
import type { RequestStatistics, Timestamp, UsageRecord } from "@usage-ledger/statistics";
import { decodeDetailChunk, decodeUsageRecord, detailChunkSchema, fingerprintToBytes } from "@usage-ledger/wire";
import type { DeadLetter } from "./dead-letter";

/** The part of a kafkajs message the applier reads. */
export interface BatchMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly offset: string;
  /** The record's Kafka timestamp, milliseconds since the epoch as decimal text. */
  readonly timestamp: string;
  readonly headers?: IHeaders;
}

/** Counts of one applied run of messages, plus what must go to the dead-letter topic. */
export interface BatchOutcome {
  /** Usage records and imported details added to the statistics. */
  applied: number;
  /** Usage records and imported details skipped as duplicates. */
  duplicates: number;
  /** Usage records the seed's merge ignores (blank API name). */
  ignored: number;
  /** Import batches (detail chunks) merged. */
  importBatches: number;
  /** Messages with an offset below `replayUntil` (records replayed after a restore). */
  replayed: number;
  readonly deadLetters: DeadLetter[];
}

/** Where the messages come from. */
export interface ApplyContext {
  readonly partition: number;
  /** Offsets below this one are counted as replayed (the end of the partition when it was restored). */
  readonly replayUntil: number;
}

/** Code of an error thrown by neither packages/wire nor packages/statistics while applying a record. */
export const UNEXPECTED_APPLY_ERROR = "AGGREGATOR_APPLY_FAILED";

const CHUNK_FINGERPRINT = fingerprintToBytes(detailChunkSchema.fingerprint);
const CHUNK_FP_LOW = CHUNK_FINGERPRINT.readUInt32LE(0);
const CHUNK_FP_HIGH = CHUNK_FINGERPRINT.readUInt32LE(4);
const EMPTY = Buffer.alloc(0);

/** True when `value` is a single-object encoding of the snapshot-chunk schema (an import batch). */
export function isDetailChunk(value: Buffer): boolean {
  return (
    value.length >= 10 &&
    value[0] === 0xc3 &&
    value[1] === 0x01 &&
    value.readUInt32LE(2) === CHUNK_FP_LOW &&
    value.readUInt32LE(6) === CHUNK_FP_HIGH
  );
}

/**
 * A timestamp for a record that carries none (or Go's zero time), fixed by the record's place in
 * the log so that a replay or a re-delivery of the same record gets the same one (and so the same
 * dedup key): the Kafka timestamp's milliseconds, plus the offset modulo 10^6 as the sub-millisecond
 * nanoseconds (distinct records of one millisecond differ in offset), in UTC.
 */
export function stampFromLog(kafkaTimestampMs: string, offset: string): Timestamp {
  const millis = Number(kafkaTimestampMs);
  const safeMillis = Number.isSafeInteger(millis) && millis >= 0 ? millis : 0;
  const epochSeconds = Math.floor(safeMillis / 1000);
  const subMillisNanos = Number(BigInt(offset) % 1_000_000n);
  return { epochSeconds, nanos: (safeMillis - epochSeconds * 1000) * 1_000_000 + subMillisNanos, offsetSeconds: 0 };
}

/**
 * Applies `messages[from..]` of one partition to its statistics: a usage record through `apply`
 * (the seed's one-detail merge: a re-delivered record is skipped by its dedup key), an import batch
 * (a detail chunk, told apart by its schema fingerprint) through `mergeDetails`. A message that
 * cannot be decoded or is invalid becomes a dead letter with the error's code; the rest go on.
 * Synchronous: nothing else runs between the first and the last message.
 */
export function applyMessages(
  statistics: RequestStatistics,
  messages: readonly BatchMessage[],
  from: number,
  context: ApplyContext,
): BatchOutcome {
  const outcome: BatchOutcome = { applied: 0, duplicates: 0, ignored: 0, importBatches: 0, replayed: 0, deadLetters: [] };
  const count = messages.length;
  for (let index = from; index < count; index++) {
    const message = messages[index]!;
    const value = message.value ?? EMPTY;
    try {
      if (isDetailChunk(value)) {
        const chunk = decodeDetailChunk(value);
        const result = statistics.mergeDetails(chunk.columns);
        outcome.applied += result.added;
        outcome.duplicates += result.skipped;
        outcome.importBatches++;
      } else {
        let record: UsageRecord = decodeUsageRecord(value);
        if (record.timestamp === undefined || isZeroTimestamp(record.timestamp)) {
          record = { ...record, timestamp: stampFromLog(message.timestamp, message.offset) };
        }
        switch (statistics.apply(record)) {
          case "added":
            outcome.applied++;
            break;
          case "duplicate":
            outcome.duplicates++;
            break;
          case "ignored":
            outcome.ignored++;
            break;
        }
      }
    } catch (error) {
      outcome.deadLetters.push(deadLetterFor(message, context.partition, error));
    }
  }
  if (context.replayUntil > 0 && count > from) {
    const last = Number(messages[count - 1]!.offset);
    if (last < context.replayUntil) {
      outcome.replayed = count - from;
    } else {
      for (let index = from; index < count && Number(messages[index]!.offset) < context.replayUntil; index++) {
        outcome.replayed++;
      }
    }
  }
  return outcome;
}

function deadLetterFor(message: BatchMessage, partition: number, error: unknown): DeadLetter {
  const code =
    typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : UNEXPECTED_APPLY_ERROR;
  return {
    key: message.key,
    value: message.value,
    headers: message.headers,
    partition,
    offset: message.offset,
    reason: code,
    message: error instanceof Error ? error.message : String(error),
  };
}
