import { loadavg } from "node:os";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { kafkaVersion, repositoryRoot } from "@usage-ledger/kafka-broker";
import { ConfigError } from "@usage-ledger/settings";
import { benchHelpText, loadBenchConfig, shareBenchArgv } from "./bench-config";
import type { BenchSizes } from "./bench-config";
import { endOffsets, provideBenchKafka, scratchDir } from "./bench-kafka";
import { writeBenchmarksMd } from "./benchmarks-md";
import type { ProfileSummary } from "./cpu-profile";
import { describeMachine, measured, resultsDir, writeResults } from "./harness";
import type { Measured, ResultRow } from "./harness";
import { benchIngest, prepareIngestTopics } from "./ingest-bench";
import type { IngestResult, IngestTopics } from "./ingest-bench";
import { benchMemory } from "./memory-bench";
import type { MemoryResult } from "./memory-bench";
import { buildPartitionStates, checkStatesMatchOffsets } from "./partition-states";
import { benchPublisher } from "./publisher-bench";
import type { PublisherResult } from "./publisher-bench";
import { benchRecovery } from "./recovery-bench";
import type { RecoveryResult } from "./recovery-bench";
import { benchSnapshots } from "./snapshot-bench";
import type { SnapshotResult } from "./snapshot-bench";
import { renderChart } from "./svg-chart";
import { checkTarget } from "./targets";
import type { TargetCheck } from "./targets";

/** Everything one `pnpm bench` measured. */
export interface BenchOutcome {
  readonly sizes: BenchSizes;
  readonly topics: IngestTopics;
  readonly ingest: IngestResult;
  readonly publisher: PublisherResult;
  readonly recovery: RecoveryResult;
  readonly snapshots: SnapshotResult;
  readonly memory: MemoryResult;
}

function perRun(value: Measured, divide: (run: number, index: number) => number): Measured {
  return measured(value.runs.map((run, index) => divide(run, index)));
}

function paired(a: Measured, b: Measured, combine: (x: number, y: number) => number): Measured {
  return measured(a.runs.map((run, index) => combine(run, b.runs[index] ?? Number.NaN)));
}

/** The rows of bench/results/e2e.json (medians at the top level, spreads under `detail`). */
function resultRows(outcome: BenchOutcome): ResultRow[] {
  const { ingest, publisher, recovery, snapshots, memory } = outcome;
  const details = snapshots.details;
  const fullPerDetail = perRun(snapshots.fullBytes, (bytes) => bytes / details);
  const jsonPerDetail = perRun(snapshots.jsonBytes, (bytes) => bytes / details);
  const [first, second] = memory.sizes;
  return [
    { key: "ingest_records_per_s", value: ingest.ingest, unit: "records/s", target: ">= 100,000 and >= 3x naive" },
    { key: "naive_records_per_s", value: ingest.naive, unit: "records/s" },
    { key: "ingest_vs_naive_ratio", value: ingest.ratio, unit: "x", target: ">= 3" },
    { key: "kafkajs_fetch_only_records_per_s", value: ingest.ceilings.fetchOnly, unit: "records/s" },
    { key: "decode_apply_records_per_s", value: ingest.ceilings.decodeApply, unit: "records/s" },
    { key: "kafkajs_fetch_busy_us_per_record", value: ingest.ceilings.fetchBusyUsPerRecord, unit: "µs/record" },
    { key: "decode_apply_us_per_record", value: perRun(ingest.ceilings.decodeApply, (rate) => 1e6 / rate), unit: "µs/record" },
    { key: "ingest_js_thread_utilisation", value: measured(ingest.aggregatorRuns.map((run) => run.utilisation)), unit: "fraction" },
    { key: "publish_records_per_s", value: publisher.publish, unit: "records/s" },
    { key: "naive_publish_records_per_s", value: publisher.naive, unit: "records/s" },
    { key: "publish_vs_naive_ratio", value: publisher.ratio, unit: "x" },
    { key: "restore_ms", value: recovery.restore, unit: "ms", target: "<= 10% of full_replay_ms" },
    { key: "full_replay_ms", value: recovery.fullReplay, unit: "ms" },
    { key: "restore_vs_replay_ratio", value: recovery.ratio, unit: "x", target: "<= 0.10" },
    { key: "restore_step_ms", value: recovery.restoreStep, unit: "ms" },
    { key: "restart_joined_ms", value: measured(recovery.restoreRuns.map((run) => run.joinedMs)), unit: "ms" },
    { key: "restart_all_live_ms", value: measured(recovery.restoreRuns.map((run) => run.liveMs)), unit: "ms" },
    { key: "full_generation_bytes", value: snapshots.fullBytes, unit: "bytes" },
    { key: "full_generation_ms", value: snapshots.fullMs, unit: "ms" },
    { key: "full_generation_bytes_per_detail", value: fullPerDetail, unit: "bytes/detail", target: "<= 1/5 of the JSON export" },
    { key: "json_export_bytes_per_detail", value: jsonPerDetail, unit: "bytes/detail" },
    { key: "snapshot_vs_json_ratio", value: paired(fullPerDetail, jsonPerDetail, (a, b) => a / b), unit: "x", target: "<= 0.2" },
    { key: "json_export_ms", value: snapshots.jsonMs, unit: "ms" },
    { key: "incremental_generation_bytes", value: snapshots.incrementalBytes, unit: "bytes" },
    { key: "incremental_generation_ms", value: snapshots.incrementalMs, unit: "ms" },
    { key: "generation_restore_ms", value: snapshots.restoreMs, unit: "ms" },
    { key: "resident_bytes_per_detail_1m", value: first!.bytesPerDetail, unit: "bytes/detail", target: "<= 120" },
    { key: "resident_bytes_per_detail_5m", value: second!.bytesPerDetail, unit: "bytes/detail", target: "<= 120" },
    { key: "naive_resident_bytes_per_detail_1m", value: memory.naive.bytesPerDetail, unit: "bytes/detail" },
    { key: "aggregator_process_resident_bytes_per_detail_1m", value: memory.aggregator.bytesPerDetail, unit: "bytes/detail" },
  ];
}

/** The targets, checked against the medians. */
function targetChecks(rows: readonly ResultRow[]): TargetCheck[] {
  const median = (key: string): number => rows.find((row) => row.key === key)?.value.median ?? Number.NaN;
  return [
    checkTarget("ingest_records_per_s", "end-to-end ingest", median("ingest_records_per_s"), ">=", 100_000),
    checkTarget("ingest_vs_naive_ratio", "end-to-end ingest against the naive consumer", median("ingest_vs_naive_ratio"), ">=", 3),
    checkTarget("restore_vs_replay_ratio", "restart against a full replay", median("restore_vs_replay_ratio"), "<=", 0.1),
    checkTarget(
      "snapshot_vs_json_ratio",
      "full generation bytes/detail against the JSON export",
      median("snapshot_vs_json_ratio"),
      "<=",
      0.2,
    ),
    checkTarget("resident_bytes_per_detail_1m", "resident bytes per detail at 1M", median("resident_bytes_per_detail_1m"), "<=", 120),
    checkTarget("resident_bytes_per_detail_5m", "resident bytes per detail at 5M", median("resident_bytes_per_detail_5m"), "<=", 120),
  ];
}

function topOf(summary: ProfileSummary | undefined): unknown {
  return summary === undefined ? undefined : { totalMs: summary.totalMs, stages: summary.stages, owners: summary.owners, top: summary.top };
}

/** `pnpm bench`: runs every scenario and writes bench/results/e2e.json, e2e.svg and BENCHMARKS.md. */
export async function runBench(argv: readonly string[]): Promise<void> {
  let config: ReturnType<typeof loadBenchConfig>;
  try {
    config = loadBenchConfig(argv, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exitCode = 2;
    return;
  }
  if (config === "help") {
    console.log(benchHelpText());
    return;
  }
  shareBenchArgv(argv);
  const sizes = config.sizes;
  const startedAt = new Date();
  const started = performance.now();
  const outDir = sizes.quick ? join(resultsDir, "quick") : resultsDir;
  const scratch = scratchDir("usage-ledger-bench-");
  const log = (line: string): void => console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const loadAtStart = loadavg();
  const profile = config.profile;
  log(
    `${sizes.quick ? "QUICK mode (small sizes, results in bench/results/quick/)" : "full sizes"}; load average ${loadAtStart.map((load) => load.toFixed(2)).join(" ")}; logs in ${scratch}`,
  );
  const bench = await provideBenchKafka({ kafkaBrokers: config.kafkaBrokers, logFile: join(scratch, "bench.log"), onLine: log });
  try {
    log(`1/5 end-to-end ingest: pre-producing ${sizes.ingestRecords.toLocaleString("en-US")} records over ${sizes.partitions} partitions`);
    const topics = await prepareIngestTopics(bench, sizes, log);
    const ingest = await benchIngest(bench, sizes, topics, { profile, profileDir: scratch, log });
    await bench.deleteTopics([topics.jsonTopic, `${topics.jsonTopic}.dlq`]);

    log(`2/5 recovery: building the state of ${topics.records.toLocaleString("en-US")} records (untimed)`);
    const states = buildPartitionStates(topics.records, sizes.partitions);
    checkStatesMatchOffsets(states, await endOffsets(bench.admin, topics.avroTopic));
    const recovery = await benchRecovery(bench, sizes, { recordsTopic: topics.avroTopic, states, profile, profileDir: scratch, log });
    states.length = 0;

    log(`3/5 snapshot generations of ${sizes.stateDetails.toLocaleString("en-US")} details`);
    const snapshots = await benchSnapshots(bench, sizes, topics.avroTopic, log);

    log(`4/5 publisher: ${sizes.publishRecords.toLocaleString("en-US")} records per run`);
    const publisher = await benchPublisher(bench, sizes, log);

    log(`5/5 memory: ${sizes.memoryDetails.map((count) => count.toLocaleString("en-US")).join(" and ")} details`);
    const memory = await benchMemory(bench, sizes, {
      ingestTopic: topics.avroTopic,
      ingestRecords: topics.records + sizes.tailRecords,
      log,
    });

    const outcome: BenchOutcome = { sizes, topics, ingest, publisher, recovery, snapshots, memory };
    const rows = resultRows(outcome);
    const targets = targetChecks(rows);
    const durationS = Math.round((performance.now() - started) / 1000);
    const loadAtEnd = loadavg();
    const profiles = { ingest: ingest.profile?.file, restore: recovery.profile?.file };
    const extra = {
      quick: sizes.quick,
      sizes,
      broker: { source: bench.source, kafka: kafkaVersion, heapMb: bench.heapMb, sameMachine: bench.source === "local" },
      load_average: { start: loadAtStart, end: loadAtEnd },
      started_at: startedAt.toISOString(),
      duration_s: durationS,
      targets,
      ingest_topic: {
        records: topics.records,
        avro_bytes_per_record: topics.avroBytes / topics.records,
        json_bytes_per_record: topics.jsonBytes / sizes.naiveRecords,
        pre_produce_ms: topics.produceMs,
      },
      ingest_runs: ingest.aggregatorRuns.map((run) => ({
        elapsed_ms: run.elapsedMs,
        joined_ms: run.joinedMs,
        all_live_ms: run.liveMs,
        utilisation: run.utilisation,
        generations_while_timed: run.generationsWhileTimed,
        snapshot_bytes_while_timed: run.snapshotBytesWhileTimed,
      })),
      restore_runs: recovery.restoreRuns.map((run) => ({
        elapsed_ms: run.elapsedMs,
        joined_ms: run.joinedMs,
        all_live_ms: run.liveMs,
        utilisation: run.utilisation,
        restores: run.restores.map((report) => ({
          partition: report.partition,
          details: report.details,
          bytes: report.bytes,
          duration_ms: report.durationMs,
          replayed: report.replayed,
        })),
      })),
      restore_snapshot_bytes: recovery.snapshotBytes,
      full_generation_chunks: snapshots.fullChunks,
      memory: {
        state: memory.sizes.map((size) => ({
          details: size.details,
          typed_array_bytes_per_detail: size.typedArrayBytesPerDetail,
          heap_bytes_per_detail: size.heapBytesPerDetail.median,
          empty_rss: size.emptyRss.median,
          filled_rss: size.filledRss.median,
        })),
        naive: { details: memory.naive.details, empty_rss: memory.naive.emptyRss.median, filled_rss: memory.naive.filledRss.median },
        aggregator: {
          details: memory.aggregator.details,
          empty_rss: memory.aggregator.emptyRss.median,
          filled_rss: memory.aggregator.filledRss.median,
        },
      },
      profiles: {
        ingest: topOf(ingest.profile?.summary),
        ingest_records_per_s_under_profiler: ingest.profile?.recordsPerSecond,
        ingest_allocations: ingest.allocations?.summary,
        restore: topOf(recovery.profile?.summary),
        restore_ms_under_profiler: recovery.profile?.elapsedMs,
        raw_files: profiles,
      },
    };
    const table = writeResults("e2e", rows, extra, outDir);
    const machine = describeMachine();
    const svg = renderChart({
      title: "usage-ledger against naive baselines",
      subtitle: `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, Kafka ${kafkaVersion} ${bench.source === "local" ? "on the same machine" : "(KAFKA_BROKERS)"}${sizes.quick ? " · QUICK mode" : ""}`,
      groups: [
        {
          title: `End-to-end ingest, ${topics.records.toLocaleString("en-US")} records`,
          unit: "records/s",
          better: "higher",
          ours: { label: "aggregator (Avro, columnar)", value: ingest.ingest },
          baseline: { label: "naive eachMessage (JSON)", value: ingest.naive },
        },
        {
          title: "Publisher, idempotent, acks -1",
          unit: "records/s",
          better: "higher",
          ours: { label: "UsagePublisher (batched)", value: publisher.publish },
          baseline: { label: "one send() per record", value: publisher.naive },
        },
        {
          title: `Restart with ${recovery.stateDetails.toLocaleString("en-US")} details + ${recovery.tailRecords.toLocaleString("en-US")} tail`,
          unit: "ms",
          better: "lower",
          ours: { label: "restore + replay tail", value: recovery.restore },
          baseline: { label: "full replay from offset 0", value: recovery.fullReplay },
        },
        {
          title: `Snapshot of ${snapshots.details.toLocaleString("en-US")} details`,
          unit: "bytes/detail",
          better: "lower",
          ours: {
            label: "full generation (Avro chunks)",
            value: rows.find((row) => row.key === "full_generation_bytes_per_detail")!.value,
          },
          baseline: { label: "seed JSON export", value: rows.find((row) => row.key === "json_export_bytes_per_detail")!.value },
        },
        {
          title: `Resident memory at ${memory.sizes[0]!.details.toLocaleString("en-US")} details`,
          unit: "bytes/detail",
          better: "lower",
          ours: { label: "RequestStatistics (columnar)", value: memory.sizes[0]!.bytesPerDetail },
          baseline: { label: "plain objects + Set of keys", value: memory.naive.bytesPerDetail },
        },
      ],
    });
    writeFileSync(join(outDir, "e2e.svg"), svg);
    writeBenchmarksMd({
      path: sizes.quick ? join(outDir, "BENCHMARKS.md") : join(repositoryRoot, "BENCHMARKS.md"),
      chartPath: sizes.quick ? "e2e.svg" : "bench/results/e2e.svg",
      outcome,
      rows,
      table,
      targets,
      machine,
      broker: { source: bench.source, heapMb: bench.heapMb, kafka: kafkaVersion },
      load: { start: loadAtStart, end: loadAtEnd },
      startedAt,
      durationS,
    });
    log(`done in ${durationS} s; results in ${outDir}`);
    for (const target of targets)
      log(`  target ${target.key} ${target.direction} ${target.target}: ${target.met ? "met" : "MISSED"}, ${target.margin}`);
  } finally {
    await bench.close();
  }
}
