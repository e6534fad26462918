import pino from "pino";
import type { AggregatorChildRequest, ConsumerChildRequest, TimedAggregatorRun } from "./aggregator-run";
import { runAggregatorTimed } from "./aggregator-run";
import { startAllocationProfile, summariseAllocations } from "./alloc-profile";
import type { AllocationSummary } from "./alloc-profile";
import { benchKafkaClient } from "./bench-kafka";
import { fetchOnlyRate } from "./ceilings";
import { finishChild } from "./child-process";
import { saveCpuProfile, startCpuProfile, summariseCpuProfile } from "./cpu-profile";
import type { CpuProfile } from "./cpu-profile";
import { runNaiveConsumer } from "./naive-baseline";

/**
 * One measured consumer run in its own process (spawned by the parent through child-process.ts):
 * - `aggregator`: a real aggregator timed from its start until the expected records are applied
 *   (optionally under the CPU profiler or the allocation sampler);
 * - `naive`: the naive baseline consumer (naive-baseline.ts) over the JSON topic;
 * - `fetch-only`: kafkajs alone (ceilings.ts).
 * Prints one JSON line with the result.
 */

type ChildRequest = AggregatorChildRequest | ConsumerChildRequest;

const request = JSON.parse(process.argv[2] ?? "{}") as ChildRequest;
const logger = pino(
  { level: "warn", base: { bench: request.mode } },
  pino.destination({ dest: request.logFile, append: true, sync: true }),
);

async function aggregatorRun(options: AggregatorChildRequest): Promise<TimedAggregatorRun> {
  let cpu: Awaited<ReturnType<typeof startCpuProfile>> | undefined;
  let alloc: Awaited<ReturnType<typeof startAllocationProfile>> | undefined;
  let rawCpu: CpuProfile | undefined;
  let allocations: AllocationSummary | undefined;
  const run = await runAggregatorTimed({
    brokers: options.brokers,
    logger,
    recordsTopic: options.recordsTopic,
    dlqTopic: options.dlqTopic,
    snapshotsTopic: options.snapshotsTopic,
    partitions: options.partitions,
    expectedApplied: options.expectedApplied,
    around: {
      before: async () => {
        if (options.profile === "cpu") cpu = await startCpuProfile();
        if (options.profile === "alloc") alloc = await startAllocationProfile();
      },
      after: async () => {
        rawCpu = await cpu?.stop();
        const rawAlloc = await alloc?.stop();
        if (rawAlloc !== undefined) allocations = summariseAllocations(rawAlloc);
      },
    },
  });
  if (rawCpu !== undefined && options.profileFile !== undefined) saveCpuProfile(options.profileFile, rawCpu);
  return {
    ...run,
    ...(rawCpu === undefined ? {} : { cpuProfile: summariseCpuProfile(rawCpu) }),
    ...(allocations === undefined ? {} : { allocations }),
  };
}

switch (request.mode) {
  case "aggregator":
    finishChild(await aggregatorRun(request));
    break;
  case "naive": {
    const kafka = benchKafkaClient(request.brokers, logger, "usage-ledger-bench-naive");
    const { statistics, elapsedMs } = await runNaiveConsumer({
      kafka,
      topic: request.topic,
      groupId: request.groupId,
      expected: request.expected,
    });
    finishChild({ elapsedMs, details: statistics.details, duplicates: statistics.duplicates });
    break;
  }
  case "fetch-only": {
    const kafka = benchKafkaClient(request.brokers, logger, "usage-ledger-bench-fetch-only");
    finishChild(await fetchOnlyRate({ kafka, topic: request.topic, groupId: request.groupId, expected: request.expected }));
    break;
  }
}
