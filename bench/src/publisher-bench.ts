import { Partitioners } from "kafkajs";
import { createPublisher } from "@usage-ledger/publisher";
import type { UsageRecord } from "@usage-ledger/statistics";
import { encodeUsageRecord } from "@usage-ledger/wire";
import { createRecordsTopic, uniqueTopic } from "./bench-kafka";
import type { BenchKafka } from "./bench-kafka";
import { benchKafkaSecurity } from "./bench-config";
import type { BenchSizes } from "./bench-config";
import type { Measured } from "./harness";
import { measured } from "./harness";
import { messageKey, RecordStream } from "./records";

/** What the publisher scenario measured. */
export interface PublisherResult {
  readonly publish: Measured;
  readonly naive: Measured;
  readonly ratio: Measured;
  readonly records: number;
  readonly naiveRecords: number;
}

/**
 * Publisher throughput: records/s from the first `publish()` call until every returned promise has
 * resolved (each resolves on the broker's acknowledgement, acks -1, idempotent producer), with the
 * publisher's default batching (1,000 records / 512 KiB / 5 ms linger, 20,000 records buffered,
 * `whenFull: wait`). Every record is published at once and the promises awaited together (the
 * README's advice: publish many, await them together). The baseline sends one record per
 * `send()` on the same kind of producer (kafkajs, idempotent, acks -1, one request in flight),
 * awaiting each before the next. Each run publishes to a fresh 6-partition topic; records are
 * generated before the clock starts.
 */
export async function benchPublisher(bench: BenchKafka, sizes: BenchSizes, log: (line: string) => void): Promise<PublisherResult> {
  const records = new RecordStream().take(sizes.publishRecords);
  const naiveRecords = records.slice(0, sizes.naivePublishRecords);
  const publishRuns: number[] = [];
  const naiveRuns: number[] = [];
  const ratios: number[] = [];
  for (let run = 0; run < sizes.runs; run++) {
    const publishRate = await publishOnce(bench, sizes.partitions, records);
    publishRuns.push(publishRate);
    log(`  publisher run ${run + 1}: ${Math.round(publishRate).toLocaleString("en-US")} records/s`);
    const naiveRate = await naiveSendOnce(bench, sizes.partitions, naiveRecords);
    naiveRuns.push(naiveRate);
    ratios.push(publishRate / naiveRate);
    log(`  one-send-per-record run ${run + 1}: ${Math.round(naiveRate).toLocaleString("en-US")} records/s`);
  }
  return {
    publish: measured(publishRuns),
    naive: measured(naiveRuns),
    ratio: measured(ratios),
    records: records.length,
    naiveRecords: naiveRecords.length,
  };
}

async function publishOnce(bench: BenchKafka, partitions: number, records: readonly UsageRecord[]): Promise<number> {
  const topic = uniqueTopic("publish");
  const dlq = await createRecordsTopic(bench, topic, partitions);
  const publisher = createPublisher({
    brokers: bench.brokers,
    kafkaConfig: benchKafkaSecurity(),
    topic,
    logger: bench.logger,
    clientId: "usage-ledger-bench-publisher",
  });
  let elapsedMs: number;
  try {
    await publisher.connect();
    const started = performance.now();
    const acks = records.map((record) => publisher.publish(record));
    await Promise.all(acks);
    elapsedMs = performance.now() - started;
  } finally {
    await publisher.close({ deadlineMs: 60_000 });
    await bench.deleteTopics([topic, dlq]);
  }
  // Every publish() promise resolved, so every record was acknowledged.
  return (records.length / elapsedMs) * 1000;
}

async function naiveSendOnce(bench: BenchKafka, partitions: number, records: readonly UsageRecord[]): Promise<number> {
  const topic = uniqueTopic("naive-publish");
  const dlq = await createRecordsTopic(bench, topic, partitions);
  const producer = bench.kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  try {
    await producer.connect();
    const started = performance.now();
    for (const record of records) {
      await producer.send({ topic, acks: -1, messages: [{ key: messageKey(record), value: encodeUsageRecord(record) }] });
    }
    const elapsedMs = performance.now() - started;
    return (records.length / elapsedMs) * 1000;
  } finally {
    await producer.disconnect();
    await bench.deleteTopics([topic, dlq]);
  }
}
