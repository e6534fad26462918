import { randomUUID } from "node:crypto";
import type { Message, Producer } from "kafkajs";
import type { Logger } from "pino";
import { allocateDetailColumns, goTrimSpace, sliceDetailColumns, ZERO_TIME_EPOCH_SECONDS } from "@usage-ledger/statistics";
import type { Clock, DetailColumns, MergeResult, ParsedSnapshot, RequestStatistics } from "@usage-ledger/statistics";
import { encodeDetailChunk } from "@usage-ledger/wire";

/** Bytes kept free below the topic's max.message.bytes for the key, headers and record overhead. */
const IMPORT_RECORD_OVERHEAD_BYTES = 1024;

/** What `importSnapshot` answers (the seed's MergeResult plus the totals after the import). */
export interface ImportResult {
  readonly added: number;
  readonly skipped: number;
  readonly totalRequests: number;
  readonly failedRequests: number;
}

/** What an import needs from the aggregator. */
export interface ImportContext {
  readonly producer: Producer;
  readonly recordsTopic: string;
  /** The partition of the records topic that owns a statistics key (the publishers' partitioner). */
  readonly partitionFor: (apiName: string) => number;
  /** max.message.bytes of the records topic. */
  readonly maxMessageBytes: number;
  /** "Now" for details without a timestamp (stamped once, here). */
  readonly clock: Clock;
  /** The fleet view, up to date: counts are decided against it and it takes the imported details. */
  readonly fleet: () => RequestStatistics;
  /** Called when publishing failed after the fleet view took the details: it must be rebuilt. */
  readonly invalidateFleet: () => void;
  readonly logger: Logger;
}

/** The import's details of one target partition, with their timestamps fixed. */
export interface PartitionBatch {
  readonly partition: number;
  readonly columns: DetailColumns;
}

/**
 * Splits a parsed snapshot's details by the partition that owns their API name: blank API names
 * (after trimming) are dropped (the seed counts them nowhere), and Go's zero time is replaced with
 * `clock()` once, here, so that every instance and every replay sees the same dedup key.
 * API names, models and tokens stay as given (the merge trims and normalises them).
 */
export function routeImport(details: DetailColumns, partitionFor: (apiName: string) => number, clock: Clock): PartitionBatch[] {
  const { count, strings } = details;
  const partitionOfString = new Int32Array(strings.length).fill(-2);
  const rowsByPartition = new Map<number, number[]>();
  for (let row = 0; row < count; row++) {
    const api = details.api[row]!;
    let partition = partitionOfString[api]!;
    if (partition === -2) {
      const name = goTrimSpace(strings[api]!);
      partition = name === "" ? -1 : partitionFor(name);
      partitionOfString[api] = partition;
    }
    if (partition < 0) continue;
    let rows = rowsByPartition.get(partition);
    if (rows === undefined) {
      rows = [];
      rowsByPartition.set(partition, rows);
    }
    rows.push(row);
  }
  return [...rowsByPartition.entries()]
    .sort(([a], [b]) => a - b)
    .map(([partition, rows]) => ({ partition, columns: pickRows(details, rows, clock) }));
}

/** Rows `rows` of `source` as a batch with its own compact string table; zero timestamps stamped. */
function pickRows(source: DetailColumns, rows: readonly number[], clock: Clock): DetailColumns {
  const strings: string[] = [];
  const localOf = new Int32Array(source.strings.length).fill(-1);
  const local = (index: number): number => {
    let value = localOf[index]!;
    if (value < 0) {
      value = strings.length;
      strings.push(source.strings[index]!);
      localOf[index] = value;
    }
    return value;
  };
  const out = allocateDetailColumns(rows.length, strings);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    out.api[i] = local(source.api[row]!);
    out.model[i] = local(source.model[row]!);
    out.source[i] = local(source.source[row]!);
    out.authIndex[i] = local(source.authIndex[row]!);
    if (source.epochSeconds[row] === ZERO_TIME_EPOCH_SECONDS && source.nanos[row] === 0) {
      const now = clock();
      out.epochSeconds[i] = now.epochSeconds;
      out.nanos[i] = now.nanos;
      out.offsetSeconds[i] = now.offsetSeconds;
    } else {
      out.epochSeconds[i] = source.epochSeconds[row]!;
      out.nanos[i] = source.nanos[row]!;
      out.offsetSeconds[i] = source.offsetSeconds[row]!;
    }
    out.failed[i] = source.failed[row]!;
    out.latencyMs[i] = source.latencyMs[row]!;
    out.inputTokens[i] = source.inputTokens[row]!;
    out.outputTokens[i] = source.outputTokens[row]!;
    out.reasoningTokens[i] = source.reasoningTokens[row]!;
    out.cachedTokens[i] = source.cachedTokens[row]!;
    out.totalTokens[i] = source.totalTokens[row]!;
  }
  return out;
}

/**
 * Encodes one partition's import details as detail-chunk records of at most `maxValueBytes` each
 * (halving a piece until it fits; a single detail always fits: its strings are bounded).
 */
export function encodeImportChunks(batch: PartitionBatch, sourceTopic: string, maxValueBytes: number): Buffer[] {
  const out: Buffer[] = [];
  const encodePiece = (start: number, end: number): void => {
    const columns = compactStrings(sliceDetailColumns(batch.columns, start, end));
    const value = encodeDetailChunk({
      sourceTopic,
      partition: batch.partition,
      generation: 0,
      writerEpoch: 0,
      chunkIndex: out.length,
      detailOffset: start,
      columns,
    });
    if (value.length <= maxValueBytes || end - start <= 1) {
      out.push(value);
      return;
    }
    const middle = start + Math.ceil((end - start) / 2);
    encodePiece(start, middle);
    encodePiece(middle, end);
  };
  if (batch.columns.count > 0) encodePiece(0, batch.columns.count);
  return out;
}

/** The same rows with a string table of only the strings they use. */
function compactStrings(columns: DetailColumns): DetailColumns {
  const rows = Array.from({ length: columns.count }, (_, index) => index);
  return pickRows(columns, rows, () => {
    throw new Error("unreachable: the rows of an import batch carry no zero timestamps any more");
  });
}

/**
 * The durable import: routes the details to their partitions, decides added/skipped against the
 * fleet view (the seed's MergeSnapshot counts, by merging into it), then publishes every batch to
 * the records topic as detail chunks (acks -1, awaited), so every instance and every restart sees
 * them through the consuming partition's `mergeDetails`. If publishing fails the fleet view is
 * rebuilt (it took details that may not be durable) and the error is rethrown.
 */
export async function importSnapshot(context: ImportContext, parsed: ParsedSnapshot): Promise<ImportResult> {
  const batches = routeImport(parsed.details, context.partitionFor, context.clock);
  const fleet = context.fleet();
  const counted: MergeResult = { added: 0, skipped: 0 };
  for (const batch of batches) {
    const result = fleet.mergeDetails(batch.columns);
    counted.added += result.added;
    counted.skipped += result.skipped;
  }
  const totals = fleet.totals();
  const importId = randomUUID();
  const maxValueBytes = context.maxMessageBytes - IMPORT_RECORD_OVERHEAD_BYTES;
  let chunks = 0;
  try {
    for (const batch of batches) {
      const values = encodeImportChunks(batch, context.recordsTopic, maxValueBytes);
      for (const [index, value] of values.entries()) {
        const message: Message = { key: `import/${importId}/${batch.partition}/${index}`, value, partition: batch.partition };
        await context.producer.send({ topic: context.recordsTopic, acks: -1, messages: [message] });
        chunks++;
      }
    }
  } catch (error) {
    context.invalidateFleet();
    throw error;
  }
  context.logger.info(
    { importId, added: counted.added, skipped: counted.skipped, partitions: batches.length, chunks },
    "imported a snapshot through the records topic",
  );
  return {
    added: counted.added,
    skipped: counted.skipped,
    totalRequests: totals.totalRequests,
    failedRequests: totals.failureCount,
  };
}
