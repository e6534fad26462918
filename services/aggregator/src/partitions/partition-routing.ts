import { Partitioners } from "kafkajs";
import type { PartitionMetadata } from "kafkajs";

/**
 * The partition of the records topic that owns a statistics key: exactly what a publisher's
 * kafkajs `DefaultPartitioner` (murmur2 of the key, Java-compatible) picks for a record keyed by
 * that key. Import batches are routed with it, so imported details land beside the records of
 * the same API key.
 */
export function createPartitionRouter(numPartitions: number): (key: string) => number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  }
  const partitioner = Partitioners.DefaultPartitioner();
  // A key always decides by hash alone; leaders and replicas play no part.
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: numPartitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return (key) => partitioner({ topic: "", partitionMetadata, message: { key, value: null } });
}
