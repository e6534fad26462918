import { join } from "node:path";
import { encodeUsageRecord } from "@usage-ledger/wire";
import { timeAggregator } from "./aggregator-run";
import type { ConsumerChildRequest, TimedAggregatorRun } from "./aggregator-run";
import { createRecordsTopic, preProduce, uniqueTopic } from "./bench-kafka";
import type { BenchKafka, PreparedMessage } from "./bench-kafka";
import type { BenchSizes } from "./bench-config";
import type { AllocationSummary } from "./alloc-profile";
import { measureCeilings } from "./ceilings";
import type { IngestCeilings } from "./ceilings";
import { runBenchChild } from "./child-process";
import type { ProfileSummary } from "./cpu-profile";
import type { Measured } from "./harness";
import { measured } from "./harness";
import { naiveJson } from "./naive-baseline";
import { messageKey, partitionRouter, RecordStream } from "./records";

/** The pre-produced topics of the ingest scenario. */
export interface IngestTopics {
  /** Avro single-object records (what publishers write), keyed and partitioned by statistics key. */
  readonly avroTopic: string;
  /** The same records as JSON text (the naive baseline's input), same keys and partitions. */
  readonly jsonTopic: string;
  readonly records: number;
  readonly produceMs: { readonly avro: number; readonly json: number };
  readonly avroBytes: number;
  readonly jsonBytes: number;
}

/** Messages `[from, from + count)` of the benchmark stream, encoded by `encode`, for {@link preProduce}. */
export function streamMessages(options: {
  from: number;
  count: number;
  partitions: number;
  encode: (record: Parameters<typeof encodeUsageRecord>[0]) => Buffer;
  onBytes?: (bytes: number) => void;
}): () => PreparedMessage | undefined {
  const stream = new RecordStream();
  for (let i = 0; i < options.from; i++) stream.next();
  const route = partitionRouter(options.partitions);
  let left = options.count;
  return () => {
    if (left === 0) return undefined;
    left--;
    const record = stream.next();
    const key = messageKey(record);
    const value = options.encode(record);
    options.onBytes?.(value.length);
    return { key, value, partition: route(key) };
  };
}

/** Creates both topics and pre-produces the first `sizes.ingestRecords` records of the stream into each. */
export async function prepareIngestTopics(bench: BenchKafka, sizes: BenchSizes, log: (line: string) => void): Promise<IngestTopics> {
  const avroTopic = uniqueTopic("records-avro");
  const jsonTopic = uniqueTopic("records-json");
  await createRecordsTopic(bench, avroTopic, sizes.partitions);
  await createRecordsTopic(bench, jsonTopic, sizes.partitions);
  let avroBytes = 0;
  let jsonBytes = 0;
  let started = performance.now();
  await preProduce(
    bench,
    avroTopic,
    streamMessages({
      from: 0,
      count: sizes.ingestRecords,
      partitions: sizes.partitions,
      encode: encodeUsageRecord,
      onBytes: (bytes) => (avroBytes += bytes),
    }),
  );
  const avroMs = performance.now() - started;
  log(`pre-produced ${sizes.ingestRecords.toLocaleString("en-US")} Avro records in ${(avroMs / 1000).toFixed(1)} s`);
  started = performance.now();
  await preProduce(
    bench,
    jsonTopic,
    streamMessages({
      from: 0,
      count: sizes.naiveRecords,
      partitions: sizes.partitions,
      encode: (record) => Buffer.from(naiveJson(record)),
      onBytes: (bytes) => (jsonBytes += bytes),
    }),
  );
  const jsonMs = performance.now() - started;
  log(`pre-produced ${sizes.naiveRecords.toLocaleString("en-US")} JSON records in ${(jsonMs / 1000).toFixed(1)} s`);
  return { avroTopic, jsonTopic, records: sizes.ingestRecords, produceMs: { avro: avroMs, json: jsonMs }, avroBytes, jsonBytes };
}

/** What the ingest scenario measured. */
export interface IngestResult {
  readonly ingest: Measured;
  readonly naive: Measured;
  readonly ratio: Measured;
  readonly aggregatorRuns: readonly TimedAggregatorRun[];
  /** kafkajs alone and decode + apply alone (see ceilings.ts). */
  readonly ceilings: IngestCeilings;
  readonly profile: { readonly summary: ProfileSummary; readonly file: string; readonly recordsPerSecond: number } | undefined;
  /** Where an (extra, unmeasured) ingest run allocates: what keeps the garbage collector busy. */
  readonly allocations: { readonly summary: AllocationSummary; readonly elapsedMs: number } | undefined;
}

/** Times the naive baseline consumer in a fresh child process. */
async function timeNaive(bench: BenchKafka, topic: string, expected: number): Promise<number> {
  const request: ConsumerChildRequest = {
    mode: "naive",
    brokers: bench.brokers,
    logFile: bench.logFile,
    topic,
    groupId: uniqueTopic("naive-group"),
    expected,
  };
  const result = await runBenchChild<{ elapsedMs: number; details: number }>("aggregator-child.ts", request);
  if (result.details !== expected) throw new Error(`the naive consumer stored ${result.details} details, expected ${expected}`);
  return result.elapsedMs;
}

/**
 * End-to-end ingest: `runs` times the real aggregator over the Avro topic (records/s from its
 * start to the last record applied) and the naive consumer over the JSON topic, alternating so
 * that both see the same machine load, each run in a fresh process; then the ceilings, and, if
 * asked, one more aggregator run under the CPU profiler and one under the allocation sampler.
 */
export async function benchIngest(
  bench: BenchKafka,
  sizes: BenchSizes,
  topics: IngestTopics,
  options: { profile: boolean; profileDir: string; log: (line: string) => void },
): Promise<IngestResult> {
  const ingestRuns: number[] = [];
  const naiveRuns: number[] = [];
  const ratios: number[] = [];
  const aggregatorRuns: TimedAggregatorRun[] = [];
  for (let run = 0; run < sizes.runs; run++) {
    const timed = await timeAggregator(bench, {
      recordsTopic: topics.avroTopic,
      partitions: sizes.partitions,
      expectedApplied: topics.records,
    });
    aggregatorRuns.push(timed);
    const ingestRate = (topics.records / timed.elapsedMs) * 1000;
    ingestRuns.push(ingestRate);
    options.log(
      `  ingest run ${run + 1}: ${Math.round(ingestRate).toLocaleString("en-US")} records/s (${(timed.elapsedMs / 1000).toFixed(2)} s, ${timed.generationsWhileTimed} generations written meanwhile)`,
    );
    const naiveMs = await timeNaive(bench, topics.jsonTopic, sizes.naiveRecords);
    const naiveRate = (sizes.naiveRecords / naiveMs) * 1000;
    naiveRuns.push(naiveRate);
    ratios.push(ingestRate / naiveRate);
    options.log(`  naive run ${run + 1}: ${Math.round(naiveRate).toLocaleString("en-US")} records/s (${(naiveMs / 1000).toFixed(2)} s)`);
  }
  const ceilings = await measureCeilings({
    bench,
    topic: topics.avroTopic,
    records: topics.records,
    partitions: sizes.partitions,
    runs: sizes.runs,
  });
  options.log(
    `  ceilings: kafkajs fetch alone ${Math.round(ceilings.fetchOnly.median).toLocaleString("en-US")} records/s, decode + apply alone ${Math.round(ceilings.decodeApply.median).toLocaleString("en-US")} records/s`,
  );
  let profile: IngestResult["profile"];
  let allocations: IngestResult["allocations"];
  if (options.profile) {
    const file = join(options.profileDir, "ingest.cpuprofile");
    const profiled = await timeAggregator(bench, {
      recordsTopic: topics.avroTopic,
      partitions: sizes.partitions,
      expectedApplied: topics.records,
      profile: "cpu",
      profileFile: file,
    });
    if (profiled.cpuProfile !== undefined) {
      profile = { summary: profiled.cpuProfile, file, recordsPerSecond: (topics.records / profiled.elapsedMs) * 1000 };
      options.log(`  profiled ingest run: ${Math.round(profile.recordsPerSecond).toLocaleString("en-US")} records/s under the profiler`);
    }
    const sampled = await timeAggregator(bench, {
      recordsTopic: topics.avroTopic,
      partitions: sizes.partitions,
      expectedApplied: topics.records,
      profile: "alloc",
    });
    if (sampled.allocations !== undefined) {
      allocations = { summary: sampled.allocations, elapsedMs: sampled.elapsedMs };
      options.log(
        `  allocation-sampled ingest run: ${Math.round(sampled.allocations.totalMiB).toLocaleString("en-US")} MiB allocated while ingesting ${topics.records.toLocaleString("en-US")} records`,
      );
    }
  }
  return {
    ingest: measured(ingestRuns),
    naive: measured(naiveRuns),
    ratio: measured(ratios),
    aggregatorRuns,
    ceilings,
    profile,
    allocations,
  };
}
