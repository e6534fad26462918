import { describe, expect, it } from "vitest";
import { Partitioners } from "kafkajs";
import { createPartitionRouter } from "./partition-routing";

describe("createPartitionRouter", () => {
  it("matches the Java client's DefaultPartitioner (murmur2) for 1000 partitions", () => {
    // Reference values from kafka-python's test_murmur2_java_compatibility ("compare with output from
    // Kafka's org.apache.kafka.clients.producer.Partitioner"), test/test_partitioner.py.
    const route = createPartitionRouter(1000);
    expect(["", "a", "ab", "abc", "123456789", "\u0000 "].map(route)).toEqual([681, 524, 434, 107, 566, 742]);
  });

  it("agrees with a kafkajs producer's DefaultPartitioner on a keyed message", () => {
    const route = createPartitionRouter(6);
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      replicas: [1],
      isr: [1],
      partitionErrorCode: 0,
    }));
    for (const key of ["sk-1", "POST /v1/chat/completions", "openai", "unknown", "ключ", "🔑"]) {
      expect(route(key)).toBe(partitioner({ topic: "usage.records", partitionMetadata, message: { key, value: null } }));
    }
  });

  it("refuses a partition count below 1", () => {
    expect(() => createPartitionRouter(0)).toThrow(RangeError);
  });
});
