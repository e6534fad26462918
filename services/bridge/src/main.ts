import { kafkaClientConfig, verifyKafkaAccess } from "@usage-ledger/kafka-contract";
import { createPublisher } from "@usage-ledger/publisher";
import { Kafka } from "kafkajs";
import { pino } from "pino";
import { createBridge } from "./bridge";
import { loadBridgeConfig, type BridgeConfig } from "./config";
import { createKafkaDeadLetterSink } from "./dead-letter";
import { errorMessage } from "./errors";
import { buildBridgeApp } from "./http-app";
import { createBridgeMetrics } from "./metrics";

/**
 * Runs the bridge: `tsx services/bridge/src/main.ts [--node ...] [--kafka-brokers ...]` (every
 * setting in README.md, "Configuration"). Stops on SIGTERM/SIGINT: stops popping, delivers the
 * batches in hand (until the stop deadline), flushes the publisher, exits.
 */
async function main(config: BridgeConfig): Promise<void> {
  const logger = pino({ level: config.logLevel, base: { service: "bridge" } });
  // packages/kafka-contract: brokers, TLS and SASL, kafkajs's lines into the logger (never the console).
  const client = { clientId: config.kafka.clientId, brokers: config.kafka.brokers, logger, security: config.kafka.security };
  // A refused login or TLS handshake stops the bridge here with one clear line (exit 1).
  await verifyKafkaAccess(client);
  const kafka = new Kafka(kafkaClientConfig(client));
  const publisher = createPublisher({ kafka, topic: config.kafka.topic, logger: logger.child({ component: "publisher" }) });
  const deadLetters = createKafkaDeadLetterSink({ kafka, topic: config.kafka.dlqTopic });
  const metrics = createBridgeMetrics();
  const bridge = createBridge({
    nodes: config.nodes,
    publisher,
    deadLetters,
    logger,
    metrics,
    tuning: config.tuning,
    spool: config.spool,
    sourceMask: config.sourceMask,
  });
  const app = buildBridgeApp({ health: () => bridge.health(), registry: metrics.registry });
  await app.listen({ host: config.http.host, port: config.http.port });
  logger.info(
    {
      http: `${config.http.host}:${config.http.port}`,
      topic: config.kafka.topic,
      dlqTopic: config.kafka.dlqTopic,
      brokers: config.kafka.brokers,
    },
    "bridge listening for /healthz and /metrics",
  );
  bridge.start();

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    const report = await bridge.stop({ deadlineMs: config.stopDeadlineMs });
    const delivery = await publisher.close({ deadlineMs: config.stopDeadlineMs });
    for (const failure of delivery.failed) {
      logger.warn({ code: failure.error.code }, "record not acknowledged before exit: it stays in the spool for the next start");
    }
    await deadLetters.close();
    await app.close();
    // bridge.stop() has logged "bridge stopped" with its counts; a record the publisher failed is in the spool still.
    process.exitCode = report.undelivered.length === 0 ? 0 : 1;
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void shutdown(signal);
    });
  }
}

let config: BridgeConfig;
try {
  config = loadBridgeConfig();
} catch (error) {
  process.stderr.write(`${errorMessage(error)}\n`);
  process.exit(2);
}
main(config).catch((error: unknown) => {
  process.stderr.write(`bridge failed: ${errorMessage(error)}\n`);
  process.exit(1);
});
