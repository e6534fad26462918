/**
 * The sizes of `pnpm bench`. The full run uses the sizes the issue names; the quick mode
 * (`BENCH_QUICK=1` or `--quick`) scales them down for development on a busy machine, and its
 * results go to `bench/results/quick/` so that they never overwrite the committed full-size ones.
 */
export interface BenchSizes {
  readonly quick: boolean;
  /** Measured runs per figure (the median of them is reported). */
  readonly runs: number;
  /** Records pre-produced for the end-to-end ingest scenario. */
  readonly ingestRecords: number;
  /** Records the naive baseline consumes (the same pre-produced records, JSON encoded). */
  readonly naiveRecords: number;
  /** Partitions of the records topics. */
  readonly partitions: number;
  /** Records published per publisher run. */
  readonly publishRecords: number;
  /** Records sent one `send()` at a time per baseline run. */
  readonly naivePublishRecords: number;
  /** Details in the restored state (recovery) and in the full snapshot generation. */
  readonly stateDetails: number;
  /** Records after the snapshot (the recovery tail) and details of the incremental generation. */
  readonly tailRecords: number;
  /** Details held by the memory children. */
  readonly memoryDetails: readonly [number, number];
}

const FULL: BenchSizes = {
  quick: false,
  runs: 3,
  ingestRecords: 1_000_000,
  naiveRecords: 1_000_000,
  partitions: 6,
  publishRecords: 200_000,
  naivePublishRecords: 3_000,
  stateDetails: 1_000_000,
  tailRecords: 10_000,
  memoryDetails: [1_000_000, 5_000_000],
};

const QUICK: BenchSizes = {
  quick: true,
  runs: 3,
  ingestRecords: 60_000,
  naiveRecords: 60_000,
  partitions: 6,
  publishRecords: 20_000,
  naivePublishRecords: 500,
  stateDetails: 60_000,
  tailRecords: 2_000,
  memoryDetails: [100_000, 500_000],
};

/** The sizes for this process: quick when `BENCH_QUICK` is set (not `0`) or `--quick` is passed. */
export function benchSizes(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): BenchSizes {
  const flag = argv.includes("--quick");
  const variable = env.BENCH_QUICK !== undefined && env.BENCH_QUICK !== "" && env.BENCH_QUICK !== "0";
  return flag || variable ? QUICK : FULL;
}
