import { finishChild } from "./child-process";

/**
 * The child process of the memory scenario (`node --expose-gc --import tsx memory-child.ts <json>`).
 * Modes:
 * - `{"mode":"state","details":N,"partitions":P}`: the aggregator's state alone: P
 *   `RequestStatistics` (one per partition) filled through `apply()` with the first N records of
 *   the benchmark stream, routed as the partitioner routes them. N = 0 is the empty process.
 * - `{"mode":"naive","details":N}`: the naive baseline's state (plain objects per detail and a Set
 *   of string dedup keys, naive-baseline.ts) after applying the JSON of the first N records.
 * - `{"mode":"aggregator","brokers":[...],"topic":"...","dlqTopic":"...","snapshotsTopic":"...","details":N,"partitions":P}`: a real
 *   aggregator (production snapshot settings) consuming a topic of N records until all are applied
 *   (N = 0: an empty topic, until every partition is live).
 * Prints one JSON line: resident set size after full garbage collections, and the heap figures.
 */

interface StateMode {
  readonly mode: "state";
  readonly details: number;
  readonly partitions: number;
}
interface NaiveMode {
  readonly mode: "naive";
  readonly details: number;
}
interface AggregatorMode {
  readonly mode: "aggregator";
  readonly brokers: string[];
  readonly topic: string;
  readonly dlqTopic: string;
  readonly snapshotsTopic: string;
  readonly details: number;
  readonly partitions: number;
}

/** The child's report. */
export interface MemoryReport {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly details: number;
  /** Bytes of the typed arrays of the stores (packages/statistics `storageStats`), state mode only. */
  readonly typedArrayBytes: number;
  readonly capacity: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");

async function settle(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((done) => setTimeout(done, 50));
  }
  return process.memoryUsage();
}

async function stateMode(options: StateMode): Promise<MemoryReport> {
  const { RequestStatistics } = await import("@usage-ledger/statistics");
  const { messageKey, partitionRouter, RecordStream } = await import("./records");
  const states = Array.from({ length: options.partitions }, () => new RequestStatistics());
  const route = partitionRouter(options.partitions);
  const stream = new RecordStream();
  for (let i = 0; i < options.details; i++) {
    const record = stream.next();
    states[route(messageKey(record))]!.apply(record);
  }
  const usage = await settle();
  const stats = states.map((state) => state.storageStats());
  return {
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    details: states.reduce((sum, state) => sum + state.detailCount, 0),
    typedArrayBytes: stats.reduce((sum, stat) => sum + stat.typedArrayBytes, 0),
    capacity: stats.reduce((sum, stat) => sum + stat.capacity, 0),
  };
}

async function naiveMode(options: NaiveMode): Promise<MemoryReport> {
  const { NaiveStatistics, naiveJson } = await import("./naive-baseline");
  const { RecordStream } = await import("./records");
  const statistics = new NaiveStatistics();
  const stream = new RecordStream();
  for (let i = 0; i < options.details; i++) statistics.applyJson(naiveJson(stream.next()));
  const usage = await settle();
  return {
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    details: statistics.details,
    typedArrayBytes: 0,
    capacity: 0,
  };
}

async function aggregatorMode(options: AggregatorMode): Promise<MemoryReport> {
  const { createAggregator } = await import("@usage-ledger/aggregator");
  const { default: pino } = await import("pino");
  const { DEFAULT_SNAPSHOT_SETTINGS } = await import("./aggregator-run");
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const { benchKafkaSecurity } = await import("./bench-config");
  const aggregator = createAggregator({
    brokers: options.brokers,
    security: benchKafkaSecurity(),
    clientId: "usage-ledger-bench-memory",
    groupId: `bench.memory-group.${process.pid}-${Date.now().toString(36)}`,
    instanceId: "bench-memory",
    recordsTopic: options.topic,
    dlqTopic: options.dlqTopic,
    snapshotsTopic: options.snapshotsTopic,
    partitions: options.partitions,
    ...DEFAULT_SNAPSHOT_SETTINGS,
    logger: pino({ level: "silent" }),
    onEvent: (event) => {
      if (event.type === "applied" && aggregator.progress().applied >= options.details) done();
    },
  });
  await aggregator.start();
  if (options.details > 0) await finished;
  while (!aggregator.readiness().ready) await new Promise((resolve) => setTimeout(resolve, 50));
  // Let the generations the scheduler started finish (the fleet view follows them), then measure.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const usage = await settle();
  const details = aggregator.progress().applied;
  await aggregator.stop();
  return {
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    details,
    typedArrayBytes: 0,
    capacity: 0,
  };
}

const options = JSON.parse(process.argv[2] ?? "{}") as StateMode | NaiveMode | AggregatorMode;
let report: MemoryReport;
switch (options.mode) {
  case "state":
    report = await stateMode(options);
    break;
  case "naive":
    report = await naiveMode(options);
    break;
  case "aggregator":
    report = await aggregatorMode(options);
    break;
}
finishChild(report);
