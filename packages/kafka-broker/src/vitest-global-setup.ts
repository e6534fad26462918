import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { provideKafka } from "./provider";
import { processesMentioning } from "./run-processes";

declare module "vitest" {
  export interface ProvidedContext {
    /** The brokers every integration test of this run talks to. */
    kafkaBrokers: string[];
    /** Where they came from: `external` (KAFKA_BROKERS), `testcontainers` or `local`. */
    kafkaSource: string;
    /** This run's own folder: brokers that tests start themselves keep their data under it. */
    kafkaRunDir: string;
  }
}

/**
 * Starts one broker for the whole integration run (or takes KAFKA_BROKERS), and at the end
 * checks that no broker process of this run outlives it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = await mkdtemp(join(tmpdir(), "usage-ledger-test-run-"));
  const log = (line: string): void => console.log(`[kafka] ${line}`);
  const kafka = await provideKafka({
    kafkaBrokers: process.env.KAFKA_BROKERS,
    dockerHost: process.env.DOCKER_HOST,
    local: { workDir: join(runDir, "shared-broker") },
    onLine: log,
  });
  log(`integration tests run against a real Apache Kafka broker (${kafka.source}) at ${kafka.brokers.join(",")}`);
  project.provide("kafkaBrokers", kafka.brokers);
  project.provide("kafkaSource", kafka.source);
  project.provide("kafkaRunDir", runDir);
  return async () => {
    await kafka.stop();
    // A broker's watchdog shell notices within a second that its broker is gone.
    let leftovers = processesMentioning(runDir);
    for (let waited = 0; leftovers.length > 0 && waited < 5_000; waited += 100) {
      await new Promise((done) => setTimeout(done, 100));
      leftovers = processesMentioning(runDir);
    }
    for (const pid of leftovers) process.kill(pid, "SIGKILL");
    if (leftovers.length > 0) {
      throw new Error(`broker processes of this test run were still alive at its end (pids ${leftovers.join(", ")}); killed`);
    }
    log("no broker process of this run is left");
    await rm(runDir, { recursive: true, force: true });
  };
}
