import { expect } from "vitest";
import { testKafka, uniqueName } from "@usage-ledger/kafka-broker/testing";

/** One message read back from a topic. */
export interface ReadMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: Buffer;
}

/** Polls `condition` until true; fails with `what` after `timeoutMs` (a guard against hangs, not a speed check). */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** Reads every message of `topic`, from the start up to the high watermark of each partition at the call. */
export async function readTopic(brokers: string[], topic: string): Promise<ReadMessage[]> {
  const kafka = testKafka(brokers);
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map<number, bigint>();
  for (const { partition, high, low } of offsets) {
    if (BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high) - 1n);
  }
  const messages: ReadMessage[] = [];
  if (remaining.size === 0) return messages;
  const consumer = kafka.consumer({ groupId: uniqueName("publisher-reader") });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      messages.push({ partition, offset: message.offset, key: message.key?.toString() ?? "", value: message.value ?? Buffer.alloc(0) });
      const last = remaining.get(partition);
      if (last !== undefined && BigInt(message.offset) >= last) remaining.delete(partition);
    },
  });
  await eventually(`read ${topic} to its end`, () => remaining.size === 0);
  await consumer.disconnect();
  return messages;
}

/** Asserts that `seen` holds each of `expected` exactly once and nothing else. */
export function expectExactlyOnce(seen: readonly string[], expected: readonly string[]): void {
  const counts = new Map<string, number>();
  for (const value of seen) counts.set(value, (counts.get(value) ?? 0) + 1);
  const wanted = new Set(expected);
  const duplicates = [...counts].filter(([, count]) => count > 1).map(([value]) => value);
  const missing = expected.filter((value) => !counts.has(value));
  const extra = [...counts.keys()].filter((value) => !wanted.has(value));
  expect({ duplicates, missing, extra, expectedDistinct: wanted.size }).toEqual({
    duplicates: [],
    missing: [],
    extra: [],
    expectedDistinct: expected.length,
  });
}
