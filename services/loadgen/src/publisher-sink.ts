import type { KafkaSecurity } from "@usage-ledger/kafka-contract";
import { createPublisher } from "@usage-ledger/publisher";
import type { LoadgenLogger, RecordSink } from "./fleet";

/** Options of {@link publisherSink}. */
export interface PublisherSinkOptions {
  readonly brokers: readonly string[];
  /** Default `usage.records`. */
  readonly topic?: string;
  readonly nodeId: string;
  readonly logger: LoadgenLogger;
  /** TLS and SASL of the brokers. */
  readonly security?: KafkaSecurity;
}

/**
 * One simulated proxy node's publisher (packages/publisher: its own kafkajs client and idempotent
 * producer, as a real node embeds it). close() delivers everything pending; records it could not
 * deliver were already counted as failed by the fleet (their publish() rejected), so they are only logged.
 */
export function publisherSink(options: PublisherSinkOptions): RecordSink {
  const publisher = createPublisher({
    brokers: options.brokers,
    ...(options.security !== undefined ? { kafkaConfig: options.security } : {}),
    ...(options.topic !== undefined ? { topic: options.topic } : {}),
    clientId: `usage-ledger-loadgen-${options.nodeId}`,
    nodeId: options.nodeId,
    logger: options.logger,
  });
  return {
    publish: (record) => publisher.publish(record),
    async close() {
      const report = await publisher.close();
      if (report.failed.length > 0) {
        options.logger.warn(
          { nodeId: options.nodeId, failed: report.failed.length, first: report.failed[0]?.error.code },
          "loadgen: records not delivered at close",
        );
      }
    },
  };
}
