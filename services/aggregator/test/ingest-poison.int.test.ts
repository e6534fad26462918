import { beforeAll, describe, expect, inject, it } from "vitest";
import { Partitioners } from "kafkajs";
import type { IHeaders, Producer } from "kafkajs";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { statisticsKey } from "@usage-ledger/publisher";
import type { UsageRecord } from "@usage-ledger/statistics";
import {
  SingleObjectCodec,
  decodeDetailChunk,
  decodeUsageRecord,
  detailChunkSchema,
  encodeUsageRecord,
  isWireError,
  schemaFiles,
  singleObjectHeader,
} from "@usage-ledger/wire";
import { DLQ_HEADERS } from "@usage-ledger/kafka-contract";
import {
  aggregatorOptions,
  caughtUp,
  eventually,
  expectSameStatistics,
  quietKafka,
  startAggregator,
  useTestTopics,
} from "./support/harness";
import type { RunningAggregator } from "./support/harness";
import { groundTruth, makeRecords, seededRandom } from "./support/records";

const brokers = inject("kafkaBrokers");

/** One bad message as published, and the reason the DLQ must carry for it. */
interface Poison {
  readonly kind: string;
  readonly key: string;
  readonly value: Buffer | null;
  readonly reason: string;
  partition?: number;
  offset?: string;
}

/** The code packages/wire (the oracle) gives for bytes that are not a valid usage record or import batch. */
function wireCode(value: Buffer | null): string {
  const bytes = value ?? Buffer.alloc(0);
  const isChunk = bytes.length >= 10 && bytes.subarray(0, 10).equals(singleObjectHeader(detailChunkSchema.fingerprint));
  try {
    if (isChunk) decodeDetailChunk(bytes);
    else decodeUsageRecord(bytes);
  } catch (error) {
    if (isWireError(error)) return error.code;
    throw error;
  }
  throw new Error("the poison decodes: not a poison");
}

/** Bad messages of every kind: undecodable bytes, unknown fingerprints, invalid records, broken import batches. */
function poisons(valid: readonly UsageRecord[], seed: number): Poison[] {
  const random = seededRandom(seed);
  const codec = new SingleObjectCodec({ schema: schemaFiles["usage-record.avsc"] });
  const raw = (record: UsageRecord): Record<string, unknown> =>
    codec.type.fromBuffer(encodeUsageRecord(record).subarray(10)) as Record<string, unknown>;
  const list: Array<Omit<Poison, "reason"> & { expected?: string }> = [];
  for (let index = 0; index < 8; index++) {
    const base = valid[index]!;
    const good = encodeUsageRecord(base);
    const negative = raw(base);
    (negative.tokens as Record<string, number>).input = -5;
    const badTime = raw(base);
    (badTime.timestamp as Record<string, number>).nanos = 2_000_000_000;
    const fingerprint = Buffer.from(Array.from({ length: 8 }, () => Math.floor(random() * 256)));
    list.push(
      { kind: "bad-marker", key: `poison-${index}-a`, value: Buffer.from(`not avro ${index}`), expected: "WIRE_BAD_MARKER" },
      {
        kind: "unknown-fingerprint",
        key: `poison-${index}-b`,
        value: Buffer.concat([Buffer.from([0xc3, 0x01]), fingerprint, good.subarray(10)]),
        expected: "WIRE_UNKNOWN_FINGERPRINT",
      },
      { kind: "negative-tokens", key: statisticsKey(base), value: codec.encode(negative), expected: "WIRE_NEGATIVE_TOKENS" },
      { kind: "timestamp-out-of-range", key: statisticsKey(base), value: codec.encode(badTime), expected: "WIRE_TIMESTAMP_OUT_OF_RANGE" },
      { kind: "truncated", key: statisticsKey(base), value: good.subarray(0, good.length - 3) },
      { kind: "trailing-bytes", key: statisticsKey(base), value: Buffer.concat([good, Buffer.from([0])]), expected: "WIRE_TRAILING_BYTES" },
      { kind: "empty", key: `poison-${index}-e`, value: null, expected: "WIRE_TRUNCATED" },
      {
        kind: "broken-import-batch",
        key: `import/poison-${index}`,
        value: Buffer.concat([singleObjectHeader(detailChunkSchema.fingerprint), Buffer.from([0xff, 0xff, 0xff, 0x7f, index])]),
      },
    );
  }
  return list.map(({ expected, ...poison }) => {
    const reason = wireCode(poison.value);
    if (expected !== undefined) expect({ kind: poison.kind, reason }).toEqual({ kind: poison.kind, reason: expected });
    return { ...poison, reason };
  });
}

async function sendValid(producer: Producer, topic: string, records: readonly UsageRecord[]): Promise<void> {
  for (let start = 0; start < records.length; start += 2_000) {
    await producer.send({
      topic,
      acks: -1,
      messages: records.slice(start, start + 2_000).map((record) => ({ key: statisticsKey(record), value: encodeUsageRecord(record) })),
    });
  }
}

interface DlqMessage {
  readonly key: string | undefined;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

async function readDlq(topic: string, count: number): Promise<DlqMessage[]> {
  const consumer = quietKafka(brokers).consumer({ groupId: uniqueName("dlq-reader") });
  const seen: DlqMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ key: message.key?.toString(), value: message.value, headers: textHeaders(message.headers) });
      },
    });
    await eventually(`${count} dead letters read`, () => seen.length >= count);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

function textHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.map(String).join(",") : String(value);
  }
  return out;
}

describe("poison records (issue 5, acceptance 2)", () => {
  let running: RunningAggregator | undefined;
  const { topics, kafka, admin } = useTestTopics(brokers, "poison", async () => {
    await running?.aggregator.stop();
    await producer.disconnect();
  });
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });

  beforeAll(async () => {
    await producer.connect();
  });

  it("sends undecodable, unknown-fingerprint and invalid records to the DLQ with their reason, counts every valid one and carries on", async () => {
    running = await startAggregator(
      aggregatorOptions(brokers, topics, { instanceId: "poison-a", groupId: uniqueName("poison"), partitions: 3 }),
    );
    const { aggregator } = running;
    await eventually("all partitions live", () => aggregator.readiness().ready && aggregator.ownedPartitions().length === 3);

    const valid = makeRecords({ count: 6_000, seed: 11, apiKeys: 12 });
    const bad = poisons(valid, 12);
    const random = seededRandom(13);
    // Valid records in chunks, the poisons one by one between them (each poison's offset is known).
    let next = 0;
    for (const poison of bad) {
      const until = Math.min(valid.length, next + Math.floor(random() * 200));
      await sendValid(producer, topics.recordsTopic, valid.slice(next, until));
      next = until;
      const [metadata] = await producer.send({
        topic: topics.recordsTopic,
        acks: -1,
        messages: [{ key: poison.key, value: poison.value }],
      });
      poison.partition = metadata?.partition;
      poison.offset = metadata?.baseOffset;
    }
    await sendValid(producer, topics.recordsTopic, valid.slice(next));

    await eventually("every record applied or dead-lettered", () => caughtUp(admin, topics.recordsTopic, [aggregator]));
    expect(aggregator.readiness().ready).toBe(true);
    expectSameStatistics(aggregator.localStatistics(), groundTruth(valid));
    expect({ applied: aggregator.progress().applied, dlq: aggregator.progress().dlq }).toEqual({ applied: valid.length, dlq: bad.length });

    const letters = await readDlq(topics.dlqTopic, bad.length);
    const expected = bad.map((poison) => ({
      key: poison.key,
      value: poison.value === null ? null : poison.value.toString("hex"),
      reason: poison.reason,
      sourceTopic: topics.recordsTopic,
      partition: String(poison.partition),
      offset: poison.offset,
    }));
    const actual = letters.map((letter) => ({
      key: letter.key,
      value: letter.value === null ? null : letter.value.toString("hex"),
      reason: letter.headers[DLQ_HEADERS.reason],
      sourceTopic: letter.headers[DLQ_HEADERS.sourceTopic],
      partition: letter.headers[DLQ_HEADERS.sourcePartition],
      offset: letter.headers[DLQ_HEADERS.sourceOffset],
    }));
    type Located = { partition: string | undefined; offset: string | undefined };
    const order = (a: Located, b: Located): number => Number(a.partition) - Number(b.partition) || Number(a.offset) - Number(b.offset);
    expect(actual.sort(order)).toEqual(expected.sort(order));
    for (const letter of letters) expect(letter.headers[DLQ_HEADERS.message]).toMatch(/\S/);

    // It carries on: records published after the poisons are applied too.
    const later = makeRecords({ count: 500, seed: 14, tag: "later-" });
    await sendValid(producer, topics.recordsTopic, later);
    await eventually("the later records applied", () => caughtUp(admin, topics.recordsTopic, [aggregator]));
    expectSameStatistics(aggregator.localStatistics(), groundTruth([...valid, ...later]));
    const metrics = await aggregator.metrics.getSingleMetricAsString("usage_ledger_dlq_records_total");
    for (const reason of new Set(bad.map((poison) => poison.reason))) {
      const count = bad.filter((poison) => poison.reason === reason).length;
      expect(metrics).toContain(`usage_ledger_dlq_records_total{reason="${reason}"} ${count}`);
    }
  });
});
