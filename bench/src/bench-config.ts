import { KAFKA_CLIENT_SETTINGS, brokerListProblem, isSecured, parseBrokerList, resolveKafkaSecurity } from "@usage-ledger/kafka-contract";
import type { KafkaSecurity } from "@usage-ledger/kafka-contract";
import { ConfigError, defineSettings, kind } from "@usage-ledger/settings";

/**
 * The sizes and settings of `pnpm bench`. The full run uses the sizes the issue names; the quick mode
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

/** The settings of `pnpm bench` (`--help` lists them). */
const BENCH_SETTINGS = defineSettings({
  quick: {
    env: "BENCH_QUICK",
    flag: "quick",
    ...kind.boolean(),
    default: "false",
    doc: "Small sizes for development; results go to bench/results/quick/.",
  },
  profile: {
    env: "BENCH_PROFILE",
    flag: "profile",
    ...kind.boolean(),
    default: "true",
    doc: "Also make the two CPU-profiled runs of the ingest scenario.",
  },
  kafkaBrokers: {
    env: "KAFKA_BROKERS",
    flag: "kafka-brokers",
    ...kind.list({ values: "comma-separated `host:port` list", check: brokerListProblem }),
    unset: "(none: a local broker is started)",
    doc: "An existing Kafka cluster to run against (topics are created and deleted).",
  },
  ...KAFKA_CLIENT_SETTINGS,
});

/** The validated settings of one `pnpm bench` run. */
export interface BenchConfig {
  readonly sizes: BenchSizes;
  /** Whether the CPU-profiled runs are made. */
  readonly profile: boolean;
  /** An existing cluster; empty = a local broker. */
  readonly kafkaBrokers: readonly string[];
  /** TLS and SASL of that cluster. */
  readonly kafkaSecurity: KafkaSecurity;
}

/** Reads the settings (flag over variable); `help` when asked for the help text. Throws `ConfigError`. */
export function loadBenchConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): BenchConfig | "help" {
  const loaded = BENCH_SETTINGS.load({ env, argv });
  if (loaded.kind === "help") return "help";
  const { quick, profile } = loaded.values;
  const kafkaBrokers = parseBrokerList(loaded.values.kafkaBrokers ?? []);
  const kafkaSecurity = resolveKafkaSecurity(loaded.values);
  if (isSecured(kafkaSecurity) && kafkaBrokers.length === 0) {
    throw new ConfigError("CONFIG_INVALID", [`the KAFKA_SSL_* / KAFKA_SASL_* settings need ${BENCH_SETTINGS.describe("kafkaBrokers")}`]);
  }
  return { sizes: quick ? QUICK : FULL, profile, kafkaBrokers, kafkaSecurity };
}

/** Where the parent hands its command line to the benchmark children it spawns. */
const ARGV_VARIABLE = "USAGE_LEDGER_BENCH_ARGV";

/** Makes the parent's command line the one {@link benchKafkaSecurity} reads in every child too. */
export function shareBenchArgv(argv: readonly string[]): void {
  process.env[ARGV_VARIABLE] = JSON.stringify(argv);
}

let security: KafkaSecurity | undefined;

/**
 * The Kafka security of this run (TLS, SASL), in the parent and in each child process it spawns:
 * the variables, and the parent's flags (see {@link shareBenchArgv}). Read once per process.
 */
export function benchKafkaSecurity(): KafkaSecurity {
  if (security === undefined) {
    const config = loadBenchConfig(JSON.parse(process.env[ARGV_VARIABLE] ?? "[]") as string[], process.env);
    security = config === "help" ? {} : config.kafkaSecurity;
  }
  return security;
}

/** The `--help` text of `pnpm bench`. */
export function benchHelpText(): string {
  return BENCH_SETTINGS.helpText({
    title: "usage-ledger benchmarks: the end-to-end scenarios of BENCHMARKS.md.",
    usage: "usage: pnpm bench [flags]     (every flag also has an environment variable; a flag wins)",
  });
}
