import { existsSync } from "node:fs";
import { parseBrokerList } from "@usage-ledger/kafka-contract";
import { startLocalBroker } from "./local-broker";
import type { LocalBroker, LocalBrokerOptions } from "./local-broker";

/** Where the brokers came from. */
export type KafkaSource = "external" | "testcontainers" | "local";

/** A Kafka cluster to talk to, and how to let it go. */
export interface ProvidedKafka {
  readonly brokers: string[];
  readonly source: KafkaSource;
  /** The local broker, when `source` is `local` (tests that crash and restart it need this). */
  readonly local?: LocalBroker;
  /** Stops what this provider started; an external cluster is left alone. */
  stop(): Promise<void>;
}

/** Options of {@link provideKafka}. */
export interface ProvideKafkaOptions {
  /** Comma-separated `host:port` list (the caller reads `KAFKA_BROKERS`); empty or undefined = none. Throws `KAFKA_BROKERS_INVALID` (kafka-contract) when malformed. */
  readonly kafkaBrokers?: string | undefined;
  /** `DOCKER_HOST` as the caller read it, if any. */
  readonly dockerHost?: string | undefined;
  /** Whether to try testcontainers when a Docker engine may answer (default true). */
  readonly tryTestcontainers?: boolean;
  readonly local?: LocalBrokerOptions;
  readonly onLine?: (line: string) => void;
}

/**
 * The one broker provider of tests and of the main command: `KAFKA_BROKERS` when set, else
 * testcontainers' Kafka module when a Docker engine answers, else the local broker from infra/.
 */
export async function provideKafka(options: ProvideKafkaOptions = {}): Promise<ProvidedKafka> {
  const external = parseBrokerList(options.kafkaBrokers);
  if (external.length > 0) {
    options.onLine?.(`using the Kafka cluster at ${external.join(",")} (KAFKA_BROKERS)`);
    return { brokers: external, source: "external", stop: async () => undefined };
  }
  if (options.tryTestcontainers !== false && dockerMayAnswer(options.dockerHost)) {
    const container = await startTestcontainer(options.onLine);
    if (container) return container;
  }
  const local = await startLocalBroker({ ...options.local, ...(options.onLine ? { onLine: options.onLine } : {}) });
  return { brokers: local.brokers, source: "local", local, stop: () => local.stop() };
}

function dockerMayAnswer(dockerHost: string | undefined): boolean {
  return (dockerHost !== undefined && dockerHost !== "") || existsSync("/var/run/docker.sock");
}

async function startTestcontainer(onLine?: (line: string) => void): Promise<ProvidedKafka | undefined> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
  } catch {
    onLine?.("no Docker engine answers: using the local broker from infra/kafka");
    return undefined;
  }
  const { KafkaContainer } = await import("@testcontainers/kafka");
  const container = await new KafkaContainer("confluentinc/cp-kafka:7.9.0").withKraft().start();
  const brokers = [`${container.getHost()}:${container.getMappedPort(9093)}`];
  onLine?.(`Kafka from testcontainers at ${brokers.join(",")}`);
  return {
    brokers,
    source: "testcontainers",
    stop: async () => {
      await container.stop();
    },
  };
}
