import { join } from "node:path";
import type { RestoreReport } from "@usage-ledger/aggregator";
import type { RequestStatistics } from "@usage-ledger/statistics";
import { encodeUsageRecord } from "@usage-ledger/wire";
import { timeAggregator } from "./aggregator-run";
import type { TimedAggregatorRun } from "./aggregator-run";
import { createSnapshotTopic, endOffsets, preProduce, uniqueTopic } from "./bench-kafka";
import type { BenchKafka } from "./bench-kafka";
import type { BenchSizes } from "./bench-config";
import type { ProfileSummary } from "./cpu-profile";
import type { Measured } from "./harness";
import { measured } from "./harness";
import { streamMessages } from "./ingest-bench";
import { writeGenerations } from "./partition-states";

/** What the recovery scenario measured. */
export interface RecoveryResult {
  readonly restore: Measured;
  readonly fullReplay: Measured;
  readonly ratio: Measured;
  /** The restore step alone (snapshot read + rebuild + claim), as the aggregator reports it. */
  readonly restoreStep: Measured;
  readonly snapshotBytes: number;
  readonly stateDetails: number;
  readonly tailRecords: number;
  readonly restoreRuns: readonly TimedAggregatorRun[];
  readonly profile: { readonly summary: ProfileSummary; readonly file: string; readonly elapsedMs: number } | undefined;
}

/**
 * Recovery. The records topic holds the `stateDetails` records of the ingest scenario; a tail of
 * `tailRecords` more records is appended. A restart is timed from the aggregator's start until the
 * tail is applied: it restores the latest generation of every partition (written before the clock
 * starts, as the previous instance left it: the state of the first `stateDetails` records, resume
 * offsets at their end), claims it and replays the tail. A full replay is the same aggregator with
 * an empty snapshot topic, applying everything from offset 0. Each run gets its own snapshot topic
 * and its own process (a restart is a new process).
 */
export async function benchRecovery(
  bench: BenchKafka,
  sizes: BenchSizes,
  options: {
    recordsTopic: string;
    states: readonly RequestStatistics[];
    profile: boolean;
    profileDir: string;
    log: (line: string) => void;
  },
): Promise<RecoveryResult> {
  const { recordsTopic, states } = options;
  const resumeOffsets = await endOffsets(bench.admin, recordsTopic);
  const stateDetails = states.reduce((sum, state) => sum + state.detailCount, 0);
  await preProduce(
    bench,
    recordsTopic,
    streamMessages({ from: stateDetails, count: sizes.tailRecords, partitions: sizes.partitions, encode: encodeUsageRecord }),
  );
  const total = stateDetails + sizes.tailRecords;
  const restoreRuns: TimedAggregatorRun[] = [];
  const restoreMs: number[] = [];
  const replayMs: number[] = [];
  const ratios: number[] = [];
  const stepMs: number[] = [];
  let snapshotBytes = 0;
  const restoreOnce = async (profileFile?: string): Promise<TimedAggregatorRun> => {
    const snapshotsTopic = uniqueTopic("restore-snapshots");
    const topic = await createSnapshotTopic(bench, snapshotsTopic);
    const reports = await writeGenerations({ bench, snapshotTopic: topic, sourceTopic: recordsTopic, states, resumeOffsets });
    snapshotBytes = reports.reduce((sum, report) => sum + report.bytesWritten, 0);
    try {
      return await timeAggregator(bench, {
        recordsTopic,
        partitions: sizes.partitions,
        snapshotsTopic,
        expectedApplied: sizes.tailRecords,
        ...(profileFile === undefined ? {} : { profile: "cpu" as const, profileFile }),
      });
    } finally {
      await bench.deleteTopics([snapshotsTopic]);
    }
  };
  for (let run = 0; run < sizes.runs; run++) {
    const restored = await restoreOnce();
    checkRestores(restored.restores, stateDetails, sizes.tailRecords);
    restoreRuns.push(restored);
    restoreMs.push(restored.elapsedMs);
    stepMs.push(Math.max(...restored.restores.map((report) => report.durationMs)));
    options.log(
      `  restart run ${run + 1}: ${(restored.elapsedMs / 1000).toFixed(2)} s (restore step ${(stepMs[stepMs.length - 1]! / 1000).toFixed(2)} s, ${restored.progress.replayed} tail records replayed)`,
    );
    const replay = await timeAggregator(bench, { recordsTopic, partitions: sizes.partitions, expectedApplied: total });
    replayMs.push(replay.elapsedMs);
    ratios.push(restored.elapsedMs / replay.elapsedMs);
    options.log(`  full replay run ${run + 1}: ${(replay.elapsedMs / 1000).toFixed(2)} s`);
  }
  let profile: RecoveryResult["profile"];
  if (options.profile) {
    const file = join(options.profileDir, "restore.cpuprofile");
    const profiled = await restoreOnce(file);
    if (profiled.cpuProfile !== undefined) profile = { summary: profiled.cpuProfile, file, elapsedMs: profiled.elapsedMs };
  }
  return {
    restore: measured(restoreMs),
    fullReplay: measured(replayMs),
    ratio: measured(ratios),
    restoreStep: measured(stepMs),
    snapshotBytes,
    stateDetails,
    tailRecords: sizes.tailRecords,
    restoreRuns,
    profile,
  };
}

/** A restart must have restored every detail from the snapshot and replayed exactly the tail. */
function checkRestores(restores: readonly RestoreReport[], stateDetails: number, tail: number): void {
  const details = restores.reduce((sum, report) => sum + report.details, 0);
  const replayed = restores.reduce((sum, report) => sum + report.replayed, 0);
  if (details !== stateDetails || replayed !== tail) {
    throw new Error(
      `the restart restored ${details} details (expected ${stateDetails}) and replayed ${replayed} records (expected ${tail})`,
    );
  }
}
