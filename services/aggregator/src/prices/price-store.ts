import { randomBytes } from "node:crypto";
import type { Admin, Consumer, Kafka, Producer } from "kafkajs";
import type { Logger } from "pino";
import { applyPriceChanges } from "./price-book";
import type { PriceBook, PricesState } from "./price-book";
import { parsePriceTable, priceTableToJson } from "./price-table";
import type { ModelPrice, PriceTable } from "./price-table";

/** The one key of the price topic: the whole table is one record (compaction keeps the latest). */
const PRICES_KEY = "prices";

/** Options of {@link startPriceStore}. */
export interface PriceStoreOptions {
  readonly kafka: Kafka;
  /** The compacted topic holding the edited table (created when missing). */
  readonly topic: string;
  /** The table of the price file: in force until someone edits prices, and again after a reset. */
  readonly fileTable: PriceTable;
  readonly logger: Logger;
  /** How long the start may wait to read the topic to its end. Default 60 s. */
  readonly startTimeoutMs?: number;
}

/** A {@link PriceBook} on Kafka, following its topic; `stop()` ends the follower. */
export interface PriceStore extends PriceBook {
  stop(): Promise<void>;
}

/**
 * Starts the fleet's price book on a compacted topic: creates the topic when missing, reads it to
 * its end (so the first answer already has the fleet's edited prices), then follows it, so that an
 * edit made through any instance shows on every instance. Every edit writes the whole table as one
 * record (acks -1) and takes effect here once written; a reset writes a tombstone (the file's table
 * again). Two edits at once on two instances: the later write wins. A record that is not a valid
 * table (written by something else) is logged and skipped.
 */
export async function startPriceStore(options: PriceStoreOptions): Promise<PriceStore> {
  const { kafka, topic, logger } = options;
  const admin = kafka.admin();
  await admin.connect();
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  const groupId = `usage-ledger-prices-${randomBytes(8).toString("hex")}`;
  try {
    await ensurePriceTopic(admin, topic);
    const [offsets] = await admin
      .fetchTopicOffsets(topic)
      .then((entries) => entries.map((entry) => ({ high: BigInt(entry.high), low: BigInt(entry.low) })));
    producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();

    let state: PricesState = { table: options.fileTable, origin: "file", updatedAt: null };
    let appliedOffset = -1n;
    const applyRecord = (offset: bigint, value: Buffer | null): void => {
      if (offset <= appliedOffset) return;
      appliedOffset = offset;
      if (value === null) {
        state = { table: options.fileTable, origin: "file", updatedAt: null };
        return;
      }
      try {
        const json = JSON.parse(value.toString("utf8")) as { updated_at?: unknown; table?: unknown };
        const table = parsePriceTable(json.table);
        state = { table, origin: "topic", updatedAt: typeof json.updated_at === "string" ? json.updated_at : null };
      } catch (error) {
        logger.warn({ err: error, topic, offset: String(offset) }, "price topic record is not a price table; skipped");
      }
    };

    const end = offsets === undefined ? 0n : offsets.high;
    let caughtUp: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });
    if (offsets === undefined || end <= offsets.low) caughtUp();
    consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 250, retry: { retries: 8 } });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (message.key?.toString("utf8") === PRICES_KEY) applyRecord(BigInt(message.offset), message.value);
        if (BigInt(message.offset) >= end - 1n) caughtUp();
      },
    });
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ready,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`reading the price topic ${topic} took longer than ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    logger.info({ topic, origin: state.origin, models: state.table.models.size }, "prices loaded");

    const writer = producer;
    const write = async (table: PriceTable | null): Promise<PricesState> => {
      const updatedAt = new Date().toISOString();
      const value = table === null ? null : Buffer.from(JSON.stringify({ updated_at: updatedAt, table: priceTableToJson(table) }), "utf8");
      const [written] = await writer.send({ topic, acks: -1, messages: [{ key: PRICES_KEY, value }] });
      const offset = BigInt(written?.baseOffset ?? "-1");
      applyRecord(offset, value);
      return state;
    };
    const follower = consumer;
    return {
      current: () => state,
      replace: (table) => write({ ...table, source: table.source === "" ? "edited on the dashboard" : table.source }),
      update: (changes: ReadonlyMap<string, ModelPrice | null>) => write(applyPriceChanges(state.table, changes)),
      reset: () => write(null),
      async stop() {
        await follower.disconnect().catch(() => undefined);
        await writer.disconnect().catch(() => undefined);
        await admin.deleteGroups([groupId]).catch(() => undefined);
        await admin.disconnect().catch(() => undefined);
      },
    };
  } catch (error) {
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    throw error;
  }
}

/** Creates the compacted, single-partition price topic when it is missing (several instances may race). */
async function ensurePriceTopic(admin: Admin, topic: string): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 1, configEntries: [{ name: "cleanup.policy", value: "compact" }] }],
  });
  // A new topic's metadata takes a moment to reach every listener.
  for (let attempt = 0; attempt < 50; attempt++) {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    if (metadata?.topics[0]?.partitions.every((partition) => partition.leader >= 0) === true) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
