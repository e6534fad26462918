import type { KafkaLogger } from "@usage-ledger/kafka-contract";

/** The logger the publisher takes: pino-compatible (`logger.warn({ ...fields }, "message")`). */
export type PublisherLogger = KafkaLogger;
