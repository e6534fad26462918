import { createRecordsTopic, createSnapshotTopic, uniqueTopic } from "./bench-kafka";
import type { BenchKafka } from "./bench-kafka";
import type { BenchSizes } from "./bench-config";
import { runBenchChild } from "./child-process";
import type { Measured } from "./harness";
import { measured } from "./harness";
import type { MemoryReport } from "./memory-child";

/** Runs one memory child and returns its report. */
function runChild(options: Record<string, unknown>): Promise<MemoryReport> {
  return runBenchChild<MemoryReport>("memory-child.ts", options, { nodeFlags: ["--expose-gc", "--max-old-space-size=8192"] });
}

/** Resident bytes per detail at one size: runs alternate between the empty and the filled child. */
export interface MemoryAtSize {
  readonly details: number;
  readonly bytesPerDetail: Measured;
  /** Bytes per detail of the stores' typed arrays (their own accounting), for comparison. */
  readonly typedArrayBytesPerDetail: number;
  /** Bytes per detail of V8's heap (objects, strings, maps) beyond the empty process. */
  readonly heapBytesPerDetail: Measured;
  readonly emptyRss: Measured;
  readonly filledRss: Measured;
}

/** What the memory scenario measured. */
export interface MemoryResult {
  readonly sizes: readonly MemoryAtSize[];
  /** The naive baseline's plain-object state at the first size. */
  readonly naive: MemoryAtSize;
  /** A real aggregator process consuming the ingest topic (cross-check). */
  readonly aggregator: MemoryAtSize;
}

async function measureSize(
  details: number,
  runs: number,
  child: (details: number) => Promise<MemoryReport>,
  log: (line: string) => void,
  label: string,
): Promise<MemoryAtSize> {
  const perDetail: number[] = [];
  const heapPerDetail: number[] = [];
  const empty: number[] = [];
  const filled: number[] = [];
  let typed = 0;
  for (let run = 0; run < runs; run++) {
    const base = await child(0);
    const full = await child(details);
    if (full.details !== details) throw new Error(`the memory child held ${full.details} details, expected ${details}`);
    empty.push(base.rss);
    filled.push(full.rss);
    perDetail.push((full.rss - base.rss) / details);
    heapPerDetail.push((full.heapUsed - base.heapUsed) / details);
    typed = full.typedArrayBytes / details;
    log(
      `  ${label} ${details.toLocaleString("en-US")} details, run ${run + 1}: ${((full.rss - base.rss) / details).toFixed(1)} resident bytes/detail (RSS ${(full.rss / 2 ** 20).toFixed(0)} MiB, empty ${(base.rss / 2 ** 20).toFixed(0)} MiB)`,
    );
  }
  return {
    details,
    bytesPerDetail: measured(perDetail),
    typedArrayBytesPerDetail: typed,
    heapBytesPerDetail: measured(heapPerDetail),
    emptyRss: measured(empty),
    filledRss: measured(filled),
  };
}

/**
 * Resident memory per stored detail, measured in child processes with `--expose-gc`: RSS after
 * full collections minus the RSS of the same child holding nothing, divided by the details. The
 * figures are of the aggregator's state (one `RequestStatistics` per partition, filled through
 * `apply()`); at the first size the naive baseline's plain objects are measured the same way, and a
 * real aggregator process consuming the ingest topic is measured too (against one on an empty topic).
 */
export async function benchMemory(
  bench: BenchKafka,
  sizes: BenchSizes,
  options: { ingestTopic: string; ingestRecords: number; log: (line: string) => void },
): Promise<MemoryResult> {
  const results: MemoryAtSize[] = [];
  for (const details of sizes.memoryDetails) {
    results.push(
      await measureSize(
        details,
        sizes.runs,
        (count) => runChild({ mode: "state", details: count, partitions: sizes.partitions }),
        options.log,
        "state",
      ),
    );
  }
  const first = sizes.memoryDetails[0];
  const naive = await measureSize(first, sizes.runs, (count) => runChild({ mode: "naive", details: count }), options.log, "naive");
  const emptyTopic = uniqueTopic("memory-empty");
  await createRecordsTopic(bench, emptyTopic, sizes.partitions);
  const aggregatorChild = async (count: number): Promise<MemoryReport> => {
    const dlqTopic = await createRecordsTopic(
      bench,
      count === 0 ? emptyTopic : options.ingestTopic,
      sizes.partitions,
      uniqueTopic("memory-dlq"),
    );
    const snapshotsTopic = uniqueTopic("memory-snapshots");
    await createSnapshotTopic(bench, snapshotsTopic);
    try {
      return await runChild({
        mode: "aggregator",
        brokers: bench.brokers,
        topic: count === 0 ? emptyTopic : options.ingestTopic,
        dlqTopic,
        snapshotsTopic,
        details: count,
        partitions: sizes.partitions,
      });
    } finally {
      await bench.deleteTopics([dlqTopic, snapshotsTopic]);
    }
  };
  const aggregator = await measureSize(options.ingestRecords, sizes.runs, aggregatorChild, options.log, "aggregator");
  await bench.deleteTopics([emptyTopic, `${emptyTopic}.dlq`]);
  return { sizes: results, naive, aggregator };
}
