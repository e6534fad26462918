import { mkdtemp } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import type { Admin, ITopicConfig } from "kafkajs";
import { startLocalBroker } from "./local-broker";
import type { LocalBroker, LocalBrokerOptions } from "./local-broker";

/** A name no other test (or test run) uses: `<prefix>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/** A kafkajs client for tests; kafkajs logs rebalances as errors, so it stays quiet and tests assert instead. */
export function testKafka(brokers: string[], clientId = uniqueName("test")): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
}

/**
 * Starts a dedicated local broker under the run's folder, for tests that crash or restart it
 * (the shared broker must stay up for the other tests). The run's teardown checks it is gone.
 */
export async function startDedicatedBroker(runDir: string, options: LocalBrokerOptions = {}): Promise<LocalBroker> {
  const workDir = await mkdtemp(join(runDir, "dedicated-"));
  return startLocalBroker({ heapMb: 512, ...options, workDir });
}

/** Creates topics with unique names, and deletes them again with `cleanup()`. */
export async function createTestTopics(
  brokers: string[],
  topics: ReadonlyArray<Omit<ITopicConfig, "topic"> & { prefix: string }>,
): Promise<{ names: string[]; admin: Admin; cleanup(): Promise<void> }> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  const names = topics.map((topic) => uniqueName(topic.prefix));
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.map(({ prefix: _prefix, ...config }, index) => ({ ...config, topic: names[index] ?? "" })),
  });
  return {
    names,
    admin,
    async cleanup() {
      await admin.deleteTopics({ topics: names }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
