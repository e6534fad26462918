import { restorePartitions, SnapshotWriter } from "@usage-ledger/snapshots";
import type { GenerationReport, SnapshotTopic } from "@usage-ledger/snapshots";
import { RequestStatistics } from "@usage-ledger/statistics";
import { Partitioners } from "kafkajs";
import type { BenchKafka } from "./bench-kafka";
import { messageKey, partitionRouter, RecordStream } from "./records";

/**
 * The state an aggregator holds after applying the first `count` records of the benchmark stream:
 * one `RequestStatistics` per partition of the records topic, each filled through `apply()` (the
 * aggregator's path) with the records the partitioner routes there, in order.
 */
export function buildPartitionStates(count: number, partitions: number): RequestStatistics[] {
  const states = Array.from({ length: partitions }, () => new RequestStatistics());
  const route = partitionRouter(partitions);
  const stream = new RecordStream();
  for (let i = 0; i < count; i++) {
    const record = stream.next();
    states[route(messageKey(record))]!.apply(record);
  }
  return states;
}

/** Checks that each partition's state holds exactly the records below that partition's end offset. */
export function checkStatesMatchOffsets(states: readonly RequestStatistics[], ends: readonly number[]): void {
  states.forEach((state, partition) => {
    const end = ends[partition] ?? 0;
    if (state.detailCount !== end)
      throw new Error(`partition ${partition}: the state holds ${state.detailCount} details but the topic ends at ${end}`);
  });
}

/**
 * Writes one full snapshot generation per partition to `snapshotTopic`, as an aggregator that
 * applied `states` up to `resumeOffsets` leaves it: restore (nothing yet) → claim → full generation.
 */
export async function writeGenerations(options: {
  bench: BenchKafka;
  snapshotTopic: SnapshotTopic;
  sourceTopic: string;
  states: readonly RequestStatistics[];
  resumeOffsets: readonly number[];
}): Promise<GenerationReport[]> {
  const { bench, snapshotTopic, sourceTopic, states } = options;
  const partitions = states.map((_, partition) => partition);
  const restored = await restorePartitions({
    kafka: bench.kafka,
    topic: snapshotTopic.name,
    sourceTopic,
    partitions,
    logger: bench.logger,
  });
  const producer = bench.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const reports: GenerationReport[] = [];
    for (const partition of partitions) {
      const writer = SnapshotWriter.create({
        producer,
        snapshotTopic,
        sourceTopic,
        partition,
        restored: restored.get(partition)!,
        logger: bench.logger,
      });
      await writer.claim();
      reports.push(
        await writer.writeGeneration({ statistics: states[partition]!, resumeOffset: options.resumeOffsets[partition] ?? 0, full: true }),
      );
    }
    return reports;
  } finally {
    await producer.disconnect();
  }
}
