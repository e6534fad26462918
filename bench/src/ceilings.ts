import type { Kafka } from "kafkajs";
import type { ConsumerChildRequest } from "./aggregator-run";
import type { BenchKafka } from "./bench-kafka";
import { uniqueTopic } from "./bench-kafka";
import { runBenchChild } from "./child-process";
import { RequestStatistics } from "@usage-ledger/statistics";
import { decodeUsageRecord, encodeUsageRecord } from "@usage-ledger/wire";
import type { Measured } from "./harness";
import { withTimeout } from "./bench-kafka";
import { measured } from "./harness";
import { messageKey, partitionRouter, RecordStream } from "./records";

/**
 * The two halves of the ingest path measured apart, as evidence of where the end-to-end time goes:
 * what kafkajs alone delivers (fetch and decode of the record batches, nothing applied) and how
 * busy that keeps the JS thread, and what decode + apply cost without Kafka. Both need the
 * aggregator's one JS thread. (Not a strict bound: kafkajs's cost per record depends on how large
 * its fetches get, which depends on how fast batches are consumed.)
 */

/** What the fetch-only consumer measured. */
export interface FetchOnlyRun {
  readonly recordsPerSecond: number;
  /** Time the JS thread was busy (event-loop utilisation) per record, microseconds. */
  readonly busyUsPerRecord: number;
}

/**
 * kafkajs alone: an `eachBatch` consumer with the aggregator's fetch settings that only counts
 * messages; records/s from connect to the last message.
 */
export async function fetchOnlyRate(options: { kafka: Kafka; topic: string; groupId: string; expected: number }): Promise<FetchOnlyRun> {
  const started = performance.now();
  const eluStart = performance.eventLoopUtilization();
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
    maxWaitTimeInMs: 250,
  });
  let seen = 0;
  let finish: (ms: number) => void = () => undefined;
  const finished = new Promise<number>((done) => {
    finish = done;
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= options.expected) finish(performance.now() - started);
      },
    });
    const elapsedMs = await withTimeout(finished, 15 * 60_000, `the fetch-only consumer reading ${options.expected} messages`);
    const elu = performance.eventLoopUtilization(eluStart);
    return { recordsPerSecond: (options.expected / elapsedMs) * 1000, busyUsPerRecord: (elu.active * 1000) / options.expected };
  } finally {
    await consumer.disconnect();
  }
}

/** The first `count` records of the stream encoded into one slab, with their partitions (untimed preparation). */
interface EncodedRecords {
  readonly slab: Buffer;
  readonly ends: Uint32Array;
  readonly partitions: Uint8Array;
}

/** Encodes the first `count` records of the benchmark stream as the publisher does. */
function encodeRecords(count: number, partitions: number): EncodedRecords {
  const stream = new RecordStream();
  const route = partitionRouter(partitions);
  const parts: Buffer[] = [];
  const ends = new Uint32Array(count);
  const partitionOf = new Uint8Array(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const record = stream.next();
    const bytes = encodeUsageRecord(record);
    parts.push(bytes);
    offset += bytes.length;
    ends[i] = offset;
    partitionOf[i] = route(messageKey(record));
  }
  return { slab: Buffer.concat(parts, offset), ends, partitions: partitionOf };
}

/**
 * Decode (packages/wire `decodeUsageRecord`, validation included) + apply (packages/statistics
 * `apply`, one store per partition) of every encoded record, in one thread without Kafka:
 * records/s. Each run starts from empty stores.
 */
function decodeApplyRate(encoded: EncodedRecords, partitions: number): number {
  const states = Array.from({ length: partitions }, () => new RequestStatistics());
  const { slab, ends } = encoded;
  const started = performance.now();
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i]!;
    const record = decodeUsageRecord(slab.subarray(start, end));
    states[encoded.partitions[i]!]!.apply(record);
    start = end;
  }
  const elapsedMs = performance.now() - started;
  const stored = states.reduce((sum, state) => sum + state.detailCount, 0);
  if (stored !== ends.length) throw new Error(`decode+apply stored ${stored} details of ${ends.length}`);
  return (ends.length / elapsedMs) * 1000;
}

/** Both ceilings, `runs` times each. */
export interface IngestCeilings {
  readonly fetchOnly: Measured;
  /** JS-thread busy microseconds per record of the fetch-only consumer. */
  readonly fetchBusyUsPerRecord: Measured;
  readonly decodeApply: Measured;
}

/** Measures both ceilings on the ingest topic: the fetch-only consumer in fresh child processes, decode + apply here. */
export async function measureCeilings(options: {
  bench: BenchKafka;
  topic: string;
  records: number;
  partitions: number;
  runs: number;
}): Promise<IngestCeilings> {
  const { bench } = options;
  const fetchRuns: FetchOnlyRun[] = [];
  for (let run = 0; run < options.runs; run++) {
    const request: ConsumerChildRequest = {
      mode: "fetch-only",
      brokers: bench.brokers,
      logFile: bench.logFile,
      topic: options.topic,
      groupId: uniqueTopic("fetch-only-group"),
      expected: options.records,
    };
    fetchRuns.push(await runBenchChild<FetchOnlyRun>("aggregator-child.ts", request));
  }
  const encoded = encodeRecords(options.records, options.partitions);
  const decodeRuns: number[] = [];
  for (let run = 0; run < options.runs; run++) decodeRuns.push(decodeApplyRate(encoded, options.partitions));
  return {
    fetchOnly: measured(fetchRuns.map((run) => run.recordsPerSecond)),
    fetchBusyUsPerRecord: measured(fetchRuns.map((run) => run.busyUsPerRecord)),
    decodeApply: measured(decodeRuns),
  };
}
