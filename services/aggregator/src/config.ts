import { parseArgs } from "node:util";
import { z } from "zod";
import { DEFAULT_TOPICS, brokerListProblem, parseBrokerList } from "@usage-ledger/kafka-contract";

/**
 * The aggregator's configuration: every setting from an environment variable or a command-line
 * flag (a flag wins), validated once at start-up into a frozen {@link LedgerConfig}. The settings
 * table in services/aggregator/README.md is generated from {@link SETTINGS} (a test keeps them equal).
 */

/** Every error code of the configuration loader (documented in services/aggregator/README.md). */
export const CONFIG_ERROR_CODES = ["CONFIG_INVALID", "CONFIG_UNKNOWN_FLAG"] as const;

/** One of {@link CONFIG_ERROR_CODES}. */
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/** A configuration that cannot be used; `problems` holds one line per bad setting, each naming it. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code: ConfigErrorCode;
  readonly retryable = false as const;
  readonly problems: readonly string[];

  constructor(code: ConfigErrorCode, problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.code = code;
    this.problems = problems;
  }
}

/** pino's levels, plus `silent`. */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/** The validated, frozen configuration of the main command. */
export interface LedgerConfig {
  /** `host:port` list of an existing Kafka cluster; empty = start a local broker (provideKafka). */
  readonly kafkaBrokers: readonly string[];
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
}

/** One setting: its environment variable, its flag and what it means. */
export interface SettingSpec {
  readonly env: string;
  /** The long flag without dashes; boolean settings also take `--no-<flag>`. */
  readonly flag: string;
  readonly kind: "string" | "integer" | "number" | "boolean" | "list" | "level";
  /** The default as shown in the README. */
  readonly defaultText: string;
  readonly doc: string;
}

const MAX_INT = Number.MAX_SAFE_INTEGER;

/** Every setting, in README order. The keys are the raw names the schema below validates. */
export const SETTINGS = {
  kafkaBrokers: {
    env: "KAFKA_BROKERS",
    flag: "kafka-brokers",
    kind: "list",
    defaultText: "(none: a local broker is started)",
    doc: "Comma-separated `host:port` list of an existing Kafka cluster.",
  },
  kafkaDir: {
    env: "LEDGER_KAFKA_DIR",
    flag: "kafka-dir",
    kind: "string",
    defaultText: "`.cache/ledger-kafka` in the repository",
    doc: "Data folder of the local broker started when `KAFKA_BROKERS` is unset; its data (and so the statistics) survive restarts. Delete it to start over.",
  },
  httpHost: {
    env: "LEDGER_HTTP_HOST",
    flag: "http-host",
    kind: "string",
    defaultText: "`127.0.0.1`",
    doc: "Address the HTTP API listens on. Without a management key only a loopback address is allowed.",
  },
  httpPort: {
    env: "LEDGER_HTTP_PORT",
    flag: "http-port",
    kind: "integer",
    defaultText: "`8318`",
    doc: "HTTP port, 0..65535; 0 picks a free port (printed at start).",
  },
  httpBodyLimitBytes: {
    env: "LEDGER_HTTP_BODY_LIMIT_BYTES",
    flag: "http-body-limit-bytes",
    kind: "integer",
    defaultText: "`268435456` (256 MiB)",
    doc: "Largest import body accepted; a larger one gets 400 `failed to read request body`.",
  },
  managementKey: {
    env: "LEDGER_MANAGEMENT_KEY",
    flag: "management-key",
    kind: "string",
    defaultText: "(none: a random key is generated, loopback clients only)",
    doc: "Management key for `/v0/management/*` (`Authorization: Bearer` or `X-Management-Key`); when set, remote clients may use it.",
  },
  recordsTopic: {
    env: "LEDGER_RECORDS_TOPIC",
    flag: "records-topic",
    kind: "string",
    defaultText: "`usage.records`",
    doc: "Topic of usage records (and import batches).",
  },
  dlqTopic: {
    env: "LEDGER_DLQ_TOPIC",
    flag: "dlq-topic",
    kind: "string",
    defaultText: "`usage.records.dlq`",
    doc: "Dead-letter topic for records that cannot be decoded or are invalid.",
  },
  snapshotsTopic: {
    env: "LEDGER_SNAPSHOTS_TOPIC",
    flag: "snapshots-topic",
    kind: "string",
    defaultText: "`usage.snapshots`",
    doc: "Compacted topic holding the snapshot generations.",
  },
  partitions: {
    env: "LEDGER_PARTITIONS",
    flag: "partitions",
    kind: "integer",
    defaultText: "`6`",
    doc: "Partitions of the records topic when the aggregator creates it (1..10000).",
  },
  groupId: {
    env: "LEDGER_GROUP_ID",
    flag: "group-id",
    kind: "string",
    defaultText: "`usage-ledger-aggregator`",
    doc: "Consumer group shared by every aggregator instance.",
  },
  instanceId: {
    env: "LEDGER_INSTANCE_ID",
    flag: "instance-id",
    kind: "string",
    defaultText: "`<hostname>-<pid>`",
    doc: "This instance's name (logs, snapshot writer identity).",
  },
  clientId: {
    env: "LEDGER_CLIENT_ID",
    flag: "client-id",
    kind: "string",
    defaultText: "`usage-ledger-aggregator`",
    doc: "kafkajs client id.",
  },
  snapshotIntervalMs: {
    env: "LEDGER_SNAPSHOT_INTERVAL_MS",
    flag: "snapshot-interval-ms",
    kind: "integer",
    defaultText: "`10000`",
    doc: "Write a snapshot generation per owned partition at least this often (ms, >= 100).",
  },
  snapshotEveryRecords: {
    env: "LEDGER_SNAPSHOT_EVERY_RECORDS",
    flag: "snapshot-every-records",
    kind: "integer",
    defaultText: "`100000`",
    doc: "... or after this many records applied to a partition, whichever comes first (>= 1).",
  },
  fullSnapshotEvery: {
    env: "LEDGER_FULL_SNAPSHOT_EVERY",
    flag: "full-snapshot-every",
    kind: "integer",
    defaultText: "`10`",
    doc: "Every N-th generation is a full one (compaction); the others are incremental (>= 1).",
  },
  logLevel: {
    env: "LEDGER_LOG_LEVEL",
    flag: "log-level",
    kind: "level",
    defaultText: "`info`",
    doc: `pino log level: ${LOG_LEVELS.map((level) => `\`${level}\``).join(", ")}.`,
  },
  logFile: {
    env: "LEDGER_LOG_FILE",
    flag: "log-file",
    kind: "string",
    defaultText: "`-` with `--no-demo`, else a file in the temp folder (printed at start)",
    doc: "Where the JSON logs go: a file path, or `-` for standard output.",
  },
  demo: {
    env: "LEDGER_DEMO",
    flag: "demo",
    kind: "boolean",
    defaultText: "`true`",
    doc: "Run a simulated fleet of proxy nodes (services/loadgen) next to the aggregator; `--no-demo` runs the aggregator alone.",
  },
  demoNodes: {
    env: "LEDGER_DEMO_NODES",
    flag: "demo-nodes",
    kind: "integer",
    defaultText: "`4`",
    doc: "Simulated proxy nodes (1..1000).",
  },
  demoRate: {
    env: "LEDGER_DEMO_RATE",
    flag: "demo-rate",
    kind: "number",
    defaultText: "`200`",
    doc: "Records per second of the whole simulated fleet (> 0).",
  },
  demoResendRate: {
    env: "LEDGER_DEMO_RESEND_RATE",
    flag: "demo-resend-rate",
    kind: "number",
    defaultText: "`0.02`",
    doc: "Fraction of publishes that deliberately re-send an already published record (0..1).",
  },
  demoSeed: {
    env: "LEDGER_DEMO_SEED",
    flag: "demo-seed",
    kind: "integer",
    defaultText: "(random)",
    doc: "Seed of the simulated fleet (same seed, same records).",
  },
  statusIntervalMs: {
    env: "LEDGER_STATUS_INTERVAL_MS",
    flag: "status-interval-ms",
    kind: "integer",
    defaultText: "`2000`",
    doc: "Refresh period of the terminal status line (ms, >= 100).",
  },
} as const satisfies Record<string, SettingSpec>;

type SettingName = keyof typeof SETTINGS;

function integer(min: number, max: number): z.ZodType<number, string> {
  return z
    .string()
    .trim()
    .regex(/^[+-]?\d+$/, "expected an integer")
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

function decimal(options: { min: number; max: number; minExclusive?: boolean }): z.ZodType<number, string> {
  const base = z.number().max(options.max, `must be at most ${options.max}`);
  return z
    .string()
    .trim()
    .regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, "expected a number")
    .transform(Number)
    .pipe(
      options.minExclusive === true
        ? base.gt(options.min, `must be greater than ${options.min}`)
        : base.min(options.min, `must be at least ${options.min}`),
    );
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);

const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((text) => TRUE_WORDS.has(text) || FALSE_WORDS.has(text), "expected true/false (or 1/0, yes/no, on/off)")
  .transform((text) => TRUE_WORDS.has(text));

const name = z.string().trim().min(1, "must not be empty").max(249, "must be at most 249 characters");

/** Kafka topic names: legal characters only, as the broker checks them. */
const topicName = name.regex(/^[A-Za-z0-9._-]+$/, "may contain only letters, digits, '.', '_' and '-'");

const brokerList = z
  .string()
  .superRefine((text, context) => {
    const problem = brokerListProblem(text);
    if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
  })
  .transform((text) => parseBrokerList(text));

const schema = z.object({
  kafkaBrokers: brokerList,
  kafkaDir: name.optional(),
  httpHost: name,
  httpPort: integer(0, 65_535),
  httpBodyLimitBytes: integer(1024, 4 * 1024 * 1024 * 1024),
  managementKey: z.string().min(1, "must not be empty").optional(),
  recordsTopic: topicName,
  dlqTopic: topicName,
  snapshotsTopic: topicName,
  partitions: integer(1, 10_000),
  groupId: name,
  instanceId: name.optional(),
  clientId: name,
  snapshotIntervalMs: integer(100, MAX_INT),
  snapshotEveryRecords: integer(1, MAX_INT),
  fullSnapshotEvery: integer(1, 1_000_000),
  logLevel: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(", ")}` }),
  logFile: name.optional(),
  demo: booleanText,
  demoNodes: integer(1, 1000),
  demoRate: decimal({ min: 0, max: 1_000_000, minExclusive: true }),
  demoResendRate: decimal({ min: 0, max: 1 }),
  demoSeed: integer(0, 2 ** 32 - 1).optional(),
  statusIntervalMs: integer(100, MAX_INT),
});

const DEFAULTS: Partial<Record<SettingName, string>> = {
  kafkaBrokers: "",
  httpHost: "127.0.0.1",
  httpPort: "8318",
  httpBodyLimitBytes: String(256 * 1024 * 1024),
  recordsTopic: DEFAULT_TOPICS.records,
  dlqTopic: DEFAULT_TOPICS.dlq,
  snapshotsTopic: DEFAULT_TOPICS.snapshots,
  partitions: "6",
  groupId: "usage-ledger-aggregator",
  clientId: "usage-ledger-aggregator",
  snapshotIntervalMs: "10000",
  snapshotEveryRecords: "100000",
  fullSnapshotEvery: "10",
  logLevel: "info",
  demo: "true",
  demoNodes: "4",
  demoRate: "200",
  demoResendRate: "0.02",
  statusIntervalMs: "2000",
};

const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** True for `localhost`, 127.0.0.0/8 and `::1`: the addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

function describe(setting: SettingName): string {
  const spec: SettingSpec = SETTINGS[setting];
  return `${spec.env} (--${spec.flag})`;
}

/** Reads the flags; a flag that is not a setting (or a bad `--no-`) is a CONFIG_UNKNOWN_FLAG error. */
function readFlags(argv: readonly string[]): { values: Partial<Record<SettingName, string>>; help: boolean } {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: "boolean", short: "h" } };
  const byFlag = new Map<string, SettingName>();
  for (const setting of SETTING_NAMES) {
    const spec: SettingSpec = SETTINGS[setting];
    byFlag.set(spec.flag, setting);
    if (spec.kind === "boolean") {
      options[spec.flag] = { type: "boolean" };
      options[`no-${spec.flag}`] = { type: "boolean" };
    } else {
      options[spec.flag] = { type: "string" };
    }
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new ConfigError("CONFIG_UNKNOWN_FLAG", [`${(error as Error).message} (see --help for the settings)`]);
  }
  const values: Partial<Record<SettingName, string>> = {};
  for (const [flag, value] of Object.entries(parsed.values)) {
    if (flag === "help") continue;
    const negated = flag.startsWith("no-") && !byFlag.has(flag);
    const setting = byFlag.get(negated ? flag.slice(3) : flag);
    if (setting === undefined) continue;
    values[setting] = typeof value === "boolean" ? String(negated ? !value : value) : String(value);
  }
  return { values, help: parsed.values.help === true };
}

/** The result of {@link loadConfig}: the configuration, or a request for the help text. */
export type LoadConfigResult = { readonly kind: "config"; readonly config: LedgerConfig } | { readonly kind: "help" };

/**
 * Reads every setting from `env` and `argv` (a flag wins over its variable), validates them all at
 * once and returns a deeply frozen configuration. Throws a {@link ConfigError} naming each bad setting.
 */
export function loadConfig(options: LoadConfigOptions): LoadConfigResult {
  const flags = readFlags(options.argv);
  if (flags.help) return { kind: "help" };
  const raw: Partial<Record<SettingName, string>> = {};
  for (const setting of SETTING_NAMES) {
    const fromFlag = flags.values[setting];
    const fromEnv = options.env[SETTINGS[setting].env];
    // An empty variable counts as unset, as shells make it easy to export one by accident.
    const value = fromFlag ?? (fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined) ?? DEFAULTS[setting];
    if (value !== undefined) raw[setting] = value;
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const setting = issue.path[0] as SettingName;
      return `${describe(setting)} = ${JSON.stringify(raw[setting] ?? "")}: ${issue.message}`;
    });
    throw new ConfigError("CONFIG_INVALID", problems);
  }
  const value = result.data;
  if (value.managementKey === undefined && !isLoopbackHost(value.httpHost)) {
    throw new ConfigError("CONFIG_INVALID", [
      `${describe("httpHost")} = ${JSON.stringify(value.httpHost)}: without ${SETTINGS.managementKey.env} the API listens on loopback only; set ${SETTINGS.managementKey.env} or use 127.0.0.1`,
    ]);
  }
  const config: LedgerConfig = {
    kafkaBrokers: value.kafkaBrokers,
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
  };
  return { kind: "config", config: deepFreeze(config) };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The README's settings table, generated from {@link SETTINGS}. */
export function settingsMarkdownTable(): string {
  const rows = SETTING_NAMES.map((setting) => {
    const spec: SettingSpec = SETTINGS[setting];
    const flag = spec.kind === "boolean" ? `\`--${spec.flag}\` / \`--no-${spec.flag}\`` : `\`--${spec.flag}\``;
    return `| \`${spec.env}\` | ${flag} | ${spec.defaultText} | ${spec.doc} |`;
  });
  return ["| variable | flag | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

/** The `--help` text of the main command. */
export function helpText(): string {
  const lines = SETTING_NAMES.map((setting) => {
    const spec: SettingSpec = SETTINGS[setting];
    const flag = spec.kind === "boolean" ? `--${spec.flag} / --no-${spec.flag}` : `--${spec.flag} <value>`;
    return `  ${flag.padEnd(34)} ${spec.env}\n  ${"".padEnd(34)} ${spec.doc.replaceAll("`", "")} Default: ${spec.defaultText.replaceAll("`", "")}`;
  });
  return [
    "usage-ledger aggregator: consume usage records from Kafka, serve the CLIProxyAPI-compatible usage API.",
    "",
    "usage: pnpm start [flags]     (every flag also has an environment variable; a flag wins)",
    "",
    ...lines,
    "  --help, -h                         this text",
  ].join("\n");
}
