import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { eventually, quietKafka } from "./harness";

/** One record of the snapshot topic: its key and value (`null` = tombstone), in log order. */
export interface RawSnapshotRecord {
  readonly key: string;
  readonly value: Buffer | null;
}

/** Reads the whole snapshot topic from the start to its current end, in log order per partition. */
export async function readSnapshotTopic(brokers: string[], topic: string): Promise<RawSnapshotRecord[]> {
  const kafka = quietKafka(brokers);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((entry) => [entry.partition, Number(entry.high)]));
  await admin.disconnect();
  const records: RawSnapshotRecord[] = [];
  const next = new Map<number, number>();
  const consumer = kafka.consumer({ groupId: uniqueName("snapshot-topic-reader") });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({ key: message.key?.toString() ?? "", value: message.value });
        next.set(partition, Number(message.offset) + 1);
      },
    });
    await eventually("the snapshot topic read to its end", () =>
      [...ends].every(([partition, end]) => end === 0 || (next.get(partition) ?? 0) >= end),
    );
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** The latest value of each key (what compaction keeps): `null` for a key whose latest record is a tombstone. */
export function latestValues(records: readonly RawSnapshotRecord[]): Map<string, Buffer | null> {
  const latest = new Map<string, Buffer | null>();
  for (const record of records) latest.set(record.key, record.value);
  return latest;
}
