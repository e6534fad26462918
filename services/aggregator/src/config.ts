import {
  DEFAULT_TOPICS,
  KAFKA_CLIENT_SETTINGS,
  brokerListProblem,
  isSecured,
  parseBrokerList,
  resolveKafkaSecurity,
} from "@usage-ledger/kafka-contract";
import type { KafkaSecurity } from "@usage-ledger/kafka-contract";
import { ConfigError, deepFreeze, defineSettings, kind } from "@usage-ledger/settings";
import type { LogLevel } from "@usage-ledger/settings";
import { MIN_SNAPSHOT_INTERVAL_MS } from "./aggregator";

/**
 * The aggregator's configuration: every setting from an environment variable or a command-line
 * flag (a flag wins), validated once at start-up into a frozen {@link LedgerConfig}. {@link SETTINGS}
 * is the one table of them; the defaults, validation, flags, `--help` and the settings table in
 * services/aggregator/README.md (a test keeps it equal) all come from it.
 */

export { ConfigError } from "@usage-ledger/settings";

/** The validated, frozen configuration of the main command. */
export interface LedgerConfig {
  /** `host:port` list of an existing Kafka cluster; empty = start a local broker (provideKafka). */
  readonly kafkaBrokers: readonly string[];
  /** TLS and SASL for that cluster (the `KAFKA_SSL_*` and `KAFKA_SASL_*` settings); empty = PLAINTEXT. */
  readonly kafkaSecurity: KafkaSecurity;
  /** Data folder of that local broker. */
  readonly kafkaDir: string;
  readonly http: {
    readonly host: string;
    /** 0 = an ephemeral port (the main command prints the one it got). */
    readonly port: number;
    /** Largest accepted request body (an import); a larger one is answered 400 "failed to read request body". */
    readonly bodyLimitBytes: number;
  };
  /** The management key; undefined = the main command generates one and the API accepts it from loopback only. */
  readonly managementKey: string | undefined;
  readonly topics: { readonly records: string; readonly dlq: string; readonly snapshots: string };
  /** Partitions of the records topic when the aggregator creates it. */
  readonly partitions: number;
  readonly groupId: string;
  readonly instanceId: string;
  readonly clientId: string;
  readonly snapshot: { readonly intervalMs: number; readonly everyRecords: number; readonly fullEvery: number };
  readonly logLevel: LogLevel;
  /** Where logs go: a file path, or `-` for standard output. */
  readonly logFile: string;
  readonly demo: {
    readonly enabled: boolean;
    readonly nodes: number;
    /** Records per second of the whole simulated fleet. */
    readonly ratePerSecond: number;
    /** Fraction of publishes that re-send an already published record (0..1). */
    readonly resendRate: number;
    readonly seed: number;
  };
  /** How often the terminal status line is refreshed. */
  readonly statusIntervalMs: number;
  /** The price file (undefined = the shipped default table) and the compacted topic of the fleet's edited prices. */
  readonly prices: { readonly file: string | undefined; readonly topic: string };
}

/** What the caller of {@link loadConfig} supplies. */
export interface LoadConfigOptions {
  /** The environment (the caller passes `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Command-line arguments after the script (`process.argv.slice(2)`). */
  readonly argv: readonly string[];
  /** Defaults that depend on the machine or process, chosen by the caller. */
  readonly defaults: {
    readonly instanceId: string;
    readonly logFileWithDemo: string;
    readonly demoSeed: number;
    readonly kafkaDir: string;
  };
  /** Reads files named by settings (`..._FILE` secrets); default node:fs. */
  readonly readFile?: (path: string) => string;
}

/** Every setting, in README order. */
export const SETTINGS = defineSettings({
  kafkaBrokers: {
    env: "KAFKA_BROKERS",
    flag: "kafka-brokers",
    ...kind.list({ values: "comma-separated `host:port` list (IPv6 as `[::1]:9092`)", check: brokerListProblem }),
    unset: "(none: a local broker is started)",
    doc: "The bootstrap brokers of an existing Kafka cluster.",
  },
  ...KAFKA_CLIENT_SETTINGS,
  kafkaDir: {
    env: "LEDGER_KAFKA_DIR",
    flag: "kafka-dir",
    ...kind.text(),
    unset: "`.cache/ledger-kafka` in the repository",
    doc: "Data folder of the local broker started when `KAFKA_BROKERS` is unset; its data (and so the statistics) survive restarts. Delete it to start over.",
  },
  httpHost: {
    env: "LEDGER_HTTP_HOST",
    flag: "http-host",
    ...kind.text(),
    default: "127.0.0.1",
    doc: "Address the HTTP API listens on. Without a management key only a loopback address is allowed.",
  },
  httpPort: {
    env: "LEDGER_HTTP_PORT",
    flag: "http-port",
    ...kind.integer(0, 65_535),
    default: "8318",
    doc: "HTTP port; 0 picks a free port (printed at start).",
  },
  httpBodyLimitBytes: {
    env: "LEDGER_HTTP_BODY_LIMIT_BYTES",
    flag: "http-body-limit-bytes",
    ...kind.integer(1024, 4 * 1024 * 1024 * 1024),
    default: String(256 * 1024 * 1024),
    defaultNote: "(256 MiB)",
    doc: "Largest import body accepted; a larger one gets 400 `failed to read request body`.",
  },
  managementKey: {
    env: "LEDGER_MANAGEMENT_KEY",
    flag: "management-key",
    ...kind.exactText(),
    secret: true,
    unset: "(none: a random key is generated, loopback clients only)",
    doc: "Management key for `/v0/management/*` (`Authorization: Bearer` or `X-Management-Key`); when set, remote clients may use it.",
  },
  recordsTopic: {
    env: "LEDGER_RECORDS_TOPIC",
    flag: "records-topic",
    ...kind.topic(),
    default: DEFAULT_TOPICS.records,
    doc: "Topic of usage records (and import batches).",
  },
  dlqTopic: {
    env: "LEDGER_DLQ_TOPIC",
    flag: "dlq-topic",
    ...kind.topic(),
    default: DEFAULT_TOPICS.dlq,
    doc: "Dead-letter topic for records that cannot be decoded or are invalid.",
  },
  snapshotsTopic: {
    env: "LEDGER_SNAPSHOTS_TOPIC",
    flag: "snapshots-topic",
    ...kind.topic(),
    default: DEFAULT_TOPICS.snapshots,
    doc: "Compacted topic holding the snapshot generations.",
  },
  partitions: {
    env: "LEDGER_PARTITIONS",
    flag: "partitions",
    ...kind.integer(1, 10_000),
    default: "6",
    doc: "Partitions of the records topic when the aggregator creates it.",
  },
  groupId: {
    env: "LEDGER_GROUP_ID",
    flag: "group-id",
    ...kind.text(),
    default: "usage-ledger-aggregator",
    doc: "Consumer group shared by every aggregator instance.",
  },
  instanceId: {
    env: "LEDGER_INSTANCE_ID",
    flag: "instance-id",
    ...kind.text(),
    unset: "`<hostname>-<pid>`",
    doc: "This instance's name (logs, snapshot writer identity).",
  },
  clientId: {
    env: "LEDGER_CLIENT_ID",
    flag: "client-id",
    ...kind.text(),
    default: "usage-ledger-aggregator",
    doc: "kafkajs client id.",
  },
  snapshotIntervalMs: {
    env: "LEDGER_SNAPSHOT_INTERVAL_MS",
    flag: "snapshot-interval-ms",
    ...kind.integer(MIN_SNAPSHOT_INTERVAL_MS),
    default: "10000",
    doc: "Write a snapshot generation per owned partition at least this often (ms).",
  },
  snapshotEveryRecords: {
    env: "LEDGER_SNAPSHOT_EVERY_RECORDS",
    flag: "snapshot-every-records",
    ...kind.integer(1),
    default: "100000",
    doc: "... or after this many records applied to a partition, whichever comes first.",
  },
  fullSnapshotEvery: {
    env: "LEDGER_FULL_SNAPSHOT_EVERY",
    flag: "full-snapshot-every",
    ...kind.integer(1, 1_000_000),
    default: "10",
    doc: "Every N-th generation is a full one (compaction); the others are incremental.",
  },
  logLevel: {
    env: "LEDGER_LOG_LEVEL",
    flag: "log-level",
    ...kind.logLevel(),
    default: "info",
    doc: "pino log level.",
  },
  logFile: {
    env: "LEDGER_LOG_FILE",
    flag: "log-file",
    ...kind.text(),
    unset: "`-` with `--no-demo`, else a file in the temp folder (printed at start)",
    doc: "Where the JSON logs go: a file path, or `-` for standard output.",
  },
  demo: {
    env: "LEDGER_DEMO",
    flag: "demo",
    ...kind.boolean(),
    default: "true",
    doc: "Run a simulated fleet of proxy nodes (services/loadgen) next to the aggregator; `--no-demo` runs the aggregator alone.",
  },
  demoNodes: {
    env: "LEDGER_DEMO_NODES",
    flag: "demo-nodes",
    ...kind.integer(1, 1000),
    default: "4",
    doc: "Simulated proxy nodes.",
  },
  demoRate: {
    env: "LEDGER_DEMO_RATE",
    flag: "demo-rate",
    ...kind.decimal({ min: 0, max: 1_000_000, minExclusive: true }),
    default: "200",
    doc: "Records per second of the whole simulated fleet.",
  },
  demoResendRate: {
    env: "LEDGER_DEMO_RESEND_RATE",
    flag: "demo-resend-rate",
    ...kind.decimal({ min: 0, max: 1 }),
    default: "0.02",
    doc: "Fraction of publishes that deliberately re-send an already published record.",
  },
  demoSeed: {
    env: "LEDGER_DEMO_SEED",
    flag: "demo-seed",
    ...kind.integer(0, 2 ** 32 - 1),
    unset: "(random)",
    doc: "Seed of the simulated fleet (same seed, same records).",
  },
  statusIntervalMs: {
    env: "LEDGER_STATUS_INTERVAL_MS",
    flag: "status-interval-ms",
    ...kind.integer(100),
    default: "2000",
    doc: "Refresh period of the terminal status line (ms).",
  },
  pricesFile: {
    env: "LEDGER_PRICES_FILE",
    flag: "prices-file",
    ...kind.text(),
    unset: "`services/aggregator/prices/default-prices.json`",
    doc: "Price table (JSON, USD per 1M tokens per model; see the web dashboard section) in force until prices are edited on the dashboard.",
  },
  pricesTopic: {
    env: "LEDGER_PRICES_TOPIC",
    flag: "prices-topic",
    ...kind.topic(),
    default: DEFAULT_TOPICS.prices,
    doc: "Compacted topic holding the fleet's edited price table (every instance follows it).",
  },
});

/** True for `localhost`, 127.0.0.0/8 and `::1`: the addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** The result of {@link loadConfig}: the configuration, or a request for the help text. */
export type LoadConfigResult = { readonly kind: "config"; readonly config: LedgerConfig } | { readonly kind: "help" };

/**
 * Reads every setting from `env` and `argv` (a flag wins over its variable), validates them all at
 * once and returns a deeply frozen configuration. Throws a `ConfigError` naming each bad setting.
 */
export function loadConfig(options: LoadConfigOptions): LoadConfigResult {
  const loaded = SETTINGS.load({ env: options.env, argv: options.argv, ...(options.readFile ? { readFile: options.readFile } : {}) });
  if (loaded.kind === "help") return { kind: "help" };
  const value = loaded.values;
  if (value.managementKey === undefined && !isLoopbackHost(value.httpHost)) {
    const key = SETTINGS.table.managementKey.env;
    throw new ConfigError("CONFIG_INVALID", [
      `${SETTINGS.describe("httpHost")} = ${JSON.stringify(value.httpHost)}: without ${key} the API listens on loopback only; set ${key} or use 127.0.0.1`,
    ]);
  }
  const kafkaSecurity = resolveKafkaSecurity(value);
  const kafkaBrokers = parseBrokerList(value.kafkaBrokers ?? []);
  if (isSecured(kafkaSecurity) && kafkaBrokers.length === 0) {
    throw new ConfigError("CONFIG_INVALID", [
      `the KAFKA_SSL_* / KAFKA_SASL_* settings need ${SETTINGS.describe("kafkaBrokers")}: the local broker started without it listens without TLS or SASL`,
    ]);
  }
  const config: LedgerConfig = {
    kafkaBrokers,
    kafkaSecurity,
    kafkaDir: value.kafkaDir ?? options.defaults.kafkaDir,
    http: { host: value.httpHost, port: value.httpPort, bodyLimitBytes: value.httpBodyLimitBytes },
    managementKey: value.managementKey,
    topics: { records: value.recordsTopic, dlq: value.dlqTopic, snapshots: value.snapshotsTopic },
    partitions: value.partitions,
    groupId: value.groupId,
    instanceId: value.instanceId ?? options.defaults.instanceId,
    clientId: value.clientId,
    snapshot: {
      intervalMs: value.snapshotIntervalMs,
      everyRecords: value.snapshotEveryRecords,
      fullEvery: value.fullSnapshotEvery,
    },
    logLevel: value.logLevel,
    logFile: value.logFile ?? (value.demo ? options.defaults.logFileWithDemo : "-"),
    demo: {
      enabled: value.demo,
      nodes: value.demoNodes,
      ratePerSecond: value.demoRate,
      resendRate: value.demoResendRate,
      seed: value.demoSeed ?? options.defaults.demoSeed,
    },
    statusIntervalMs: value.statusIntervalMs,
    prices: { file: value.pricesFile, topic: value.pricesTopic },
  };
  return { kind: "config", config: deepFreeze(config) };
}

/** The README's settings table, generated from {@link SETTINGS}. */
export function settingsMarkdownTable(): string {
  return SETTINGS.markdownTable();
}

/** The `--help` text of the main command. */
export function helpText(): string {
  return SETTINGS.helpText({
    title: "usage-ledger aggregator: consume usage records from Kafka, serve the CLIProxyAPI-compatible usage API.",
    usage: "usage: pnpm start [flags]     (every flag also has an environment variable; a flag wins)",
  });
}
