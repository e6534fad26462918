export { UsagePublisher, createPublisher } from "./publisher";
export type { CloseOptions, DeliveryFailure, DeliveryReport, PublishAck, PublisherStats } from "./types";
export { DEFAULT_TOPIC } from "./options";
export type { BatchOptions, PublisherOptions, WhenFull } from "./options";
export { PUBLISHER_ERROR_CODES, PublisherError, isPublisherError } from "./errors";
export type { PublisherErrorCode, PublisherErrorOptions } from "./errors";
export { createMonotonicClock, fromEpochNanos, processClock, toEpochNanos } from "./clock";
export type { MonotonicClockOptions } from "./clock";
/** Re-exported from the statistics core: the key messages are partitioned by. */
export { statisticsKey } from "@usage-ledger/statistics";
export { looksLikeApiKey, maskSource } from "./source-mask";
export type { SourceMaskOptions } from "./source-mask";
/** Re-exported from the Kafka contract: the one kafkajs log creator, for callers that build their own `kafka` client. */
export { kafkaLogCreator, silentLogger } from "@usage-ledger/kafka-contract";
export type { PublisherLogger } from "./logger";
