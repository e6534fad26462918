import { restorePartition, SnapshotWriter } from "@usage-ledger/snapshots";
import { RequestStatistics } from "@usage-ledger/statistics";
import { Partitioners } from "kafkajs";
import { createSnapshotTopic, uniqueTopic } from "./bench-kafka";
import type { BenchKafka } from "./bench-kafka";
import type { BenchSizes } from "./bench-config";
import type { Measured } from "./harness";
import { measured } from "./harness";
import { RecordStream } from "./records";

/** What the snapshot scenario measured. */
export interface SnapshotResult {
  readonly details: number;
  readonly incrementalDetails: number;
  readonly fullBytes: Measured;
  readonly fullMs: Measured;
  readonly fullChunks: number;
  readonly incrementalBytes: Measured;
  readonly incrementalMs: Measured;
  /** Reading the full generation back into a new store (restorePartition of that one partition). */
  readonly restoreMs: Measured;
  readonly jsonBytes: Measured;
  readonly jsonMs: Measured;
}

/**
 * Snapshot generations of one source partition holding `stateDetails` details (the first records
 * of the benchmark stream, applied): a full generation (chunks + manifest, acks -1, as
 * `SnapshotWriter.writeGeneration` reports its bytes and time), then an incremental one after
 * `tailRecords` more records; and, for comparison, the seed's JSON export of the same state
 * (`writeSnapshotJson`, the bytes of `GET /v0/management/usage/export`'s `usage` value, counted as
 * UTF-8 without holding the whole text). Each run writes to a fresh snapshot topic.
 */
export async function benchSnapshots(
  bench: BenchKafka,
  sizes: BenchSizes,
  sourceTopic: string,
  log: (line: string) => void,
): Promise<SnapshotResult> {
  const stream = new RecordStream();
  const base = new RequestStatistics();
  for (let i = 0; i < sizes.stateDetails; i++) base.apply(stream.next());
  const grown = new RequestStatistics();
  grown.mergeDetails(base.exportDetails());
  for (let i = 0; i < sizes.tailRecords; i++) grown.apply(stream.next());

  const fullBytes: number[] = [];
  const fullMs: number[] = [];
  const incrementalBytes: number[] = [];
  const incrementalMs: number[] = [];
  const restoreMs: number[] = [];
  const jsonMs: number[] = [];
  const jsonBytes: number[] = [];
  let fullChunks = 0;
  for (let run = 0; run < sizes.runs; run++) {
    const name = uniqueTopic("snapshot-gen");
    const topic = await createSnapshotTopic(bench, name);
    const producer = bench.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const restored = await restorePartition({ kafka: bench.kafka, topic: name, sourceTopic, partition: 0, logger: bench.logger });
      const writer = SnapshotWriter.create({ producer, snapshotTopic: topic, sourceTopic, partition: 0, restored, logger: bench.logger });
      await writer.claim();
      const full = await writer.writeGeneration({ statistics: base, resumeOffset: sizes.stateDetails, full: true });
      const incremental = await writer.writeGeneration({ statistics: grown, resumeOffset: sizes.stateDetails + sizes.tailRecords });
      if (full.kind !== "full" || incremental.kind !== "incremental" || incremental.details !== sizes.tailRecords) {
        throw new Error(`unexpected generations: ${full.kind} then ${incremental.kind} of ${incremental.details} details`);
      }
      fullBytes.push(full.bytesWritten);
      fullMs.push(full.durationMs);
      fullChunks = full.chunks;
      incrementalBytes.push(incremental.bytesWritten);
      incrementalMs.push(incremental.durationMs);
      const started = performance.now();
      const back = await restorePartition({ kafka: bench.kafka, topic: name, sourceTopic, partition: 0, logger: bench.logger });
      restoreMs.push(performance.now() - started);
      if (back.detailCount !== grown.detailCount) throw new Error(`restored ${back.detailCount} details, expected ${grown.detailCount}`);
    } finally {
      await producer.disconnect();
      await bench.deleteTopics([name]);
    }
    const started = performance.now();
    let bytes = 0;
    base.writeSnapshotJson((chunk) => {
      bytes += Buffer.byteLength(chunk);
    });
    jsonMs.push(performance.now() - started);
    jsonBytes.push(bytes);
    log(
      `  snapshot run ${run + 1}: full ${(fullBytes[run]! / 2 ** 20).toFixed(1)} MiB in ${(fullMs[run]! / 1000).toFixed(2)} s, incremental ${(incrementalBytes[run]! / 1024).toFixed(0)} KiB in ${incrementalMs[run]!.toFixed(0)} ms, JSON export ${(bytes / 2 ** 20).toFixed(1)} MiB in ${(jsonMs[run]! / 1000).toFixed(2)} s`,
    );
  }
  return {
    details: sizes.stateDetails,
    incrementalDetails: sizes.tailRecords,
    fullBytes: measured(fullBytes),
    fullMs: measured(fullMs),
    fullChunks,
    incrementalBytes: measured(incrementalBytes),
    incrementalMs: measured(incrementalMs),
    restoreMs: measured(restoreMs),
    jsonBytes: measured(jsonBytes),
    jsonMs: measured(jsonMs),
  };
}
