import { readFileSync } from "node:fs";
import type { SourceMaskOptions } from "@usage-ledger/publisher";
import { z } from "zod";
import { DEFAULT_TOPICS, brokerListProblem, parseBrokerList, readKafkaSecurity } from "@usage-ledger/kafka-contract";
import type { KafkaSecurity } from "@usage-ledger/kafka-contract";
import { ConfigError, deepFreeze } from "@usage-ledger/settings";
import type { LogLevel } from "@usage-ledger/settings";
import { DEFAULT_TUNING, type BridgeSpoolOptions } from "./bridge";
import { BridgeError, errorMessage } from "./errors";
import type { BridgeTuning, NodeConfig } from "./node-worker";

/**
 * The bridge's configuration: environment variables and command-line flags, validated once into a
 * frozen object. The only module of the bridge that reads `process.env` (in {@link loadBridgeConfig}).
 * Every setting is listed in README.md ("Configuration").
 */

/** The validated configuration. */
export interface BridgeConfig {
  readonly nodes: readonly NodeConfig[];
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    readonly topic: string;
    readonly dlqTopic: string;
    /** TLS and SASL (the `KAFKA_SSL_*` / `KAFKA_SASL_*` settings of packages/kafka-contract); empty = PLAINTEXT. */
    readonly security: KafkaSecurity;
  };
  /** Where /healthz and /metrics listen. */
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: LogLevel;
  /** How long a stop (SIGTERM) may spend publishing what the spools hold. */
  readonly stopDeadlineMs: number;
  readonly spool: BridgeSpoolOptions;
  /** Masking of API-key sources (false: publish them raw). */
  readonly sourceMask: SourceMaskOptions | false;
  readonly tuning: BridgeTuning;
}

/** Where {@link parseBridgeConfig} reads from. */
export interface ConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Command-line arguments after the script (`process.argv.slice(2)`). */
  readonly argv: readonly string[];
  /** Reads a file named by the config (a key or CA file); default node:fs. */
  readonly readFile?: (path: string) => string;
}

/** The default management port of CLIProxyAPI. */
const DEFAULT_NODE_PORT = 8317;

const hostPort = z
  .string()
  .trim()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+)(:\d{1,5})?$/, "must be host:port");

const tlsSchema = z.union([
  z.boolean(),
  z
    .object({
      ca: z.string().min(1).optional(),
      caFile: z.string().min(1).optional(),
      rejectUnauthorized: z.boolean().default(true),
      servername: z.string().min(1).optional(),
    })
    .strict()
    .refine((tls) => tls.ca === undefined || tls.caFile === undefined, "give ca or caFile, not both"),
]);

const nodeSchema = z
  .object({
    address: hostPort,
    managementKey: z.string().min(1).optional(),
    managementKeyEnv: z.string().min(1).optional(),
    managementKeyFile: z.string().min(1).optional(),
    mode: z.enum(["lpop", "subscribe", "http"]).default("lpop"),
    tls: tlsSchema.optional(),
    id: z.string().trim().min(1).max(256).optional(),
  })
  .strict()
  .refine(
    (node) => [node.managementKey, node.managementKeyEnv, node.managementKeyFile].filter((value) => value !== undefined).length === 1,
    "give exactly one of managementKey, managementKeyEnv, managementKeyFile",
  );

type NodeInput = z.infer<typeof nodeSchema>;

const NO_NODES = "at least one node is needed (BRIDGE_NODES as a JSON list, or --node)";
const NO_BROKERS = "at least one Kafka broker is needed (KAFKA_BROKERS or --kafka-brokers, host:port,...)";

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const settingsSchema = z.object({
  nodes: z.array(nodeSchema, { error: NO_NODES }).min(1, NO_NODES),
  brokers: z
    .array(z.string(), { error: NO_BROKERS })
    .min(1, NO_BROKERS)
    .superRefine((entries, context) => {
      const problem = brokerListProblem(entries.join(","));
      if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
    })
    .transform((entries) => parseBrokerList(entries)),
  clientId: z.string().trim().min(1).default("usage-ledger-bridge"),
  topic: z.string().trim().min(1).default(DEFAULT_TOPICS.records),
  dlqTopic: z.string().trim().min(1).default(DEFAULT_TOPICS.dlq),
  host: z.string().trim().min(1).default("0.0.0.0"),
  port: integer(0, 65_535).default(9470),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  batchSize: integer(1, 10_000).default(DEFAULT_TUNING.batchSize),
  pollIntervalMs: integer(10, 3_600_000).default(DEFAULT_TUNING.pollIntervalMs),
  commandTimeoutMs: integer(100, 600_000).default(DEFAULT_TUNING.commandTimeoutMs),
  stopDeadlineMs: integer(0, 600_000).default(30_000),
  spoolDir: z.string().trim().min(1).default("bridge-spool"),
  spoolMaxBytes: integer(16 * 1024 * 1024, Number.MAX_SAFE_INTEGER).default(1024 * 1024 * 1024),
  maskSources: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(["true", "false", "1", "0", "yes", "no", "on", "off"], { error: "must be true or false" }))
    .default("true")
    .transform((text) => ["true", "1", "yes", "on"].includes(text)),
  maskSalt: z.string().min(1).optional(),
  maskSaltFile: z.string().min(1).optional(),
});

/** Flags and the setting each one sets; `--node` repeats. */
const FLAGS: Readonly<Record<string, keyof z.input<typeof settingsSchema>>> = {
  "--node": "nodes",
  "--kafka-brokers": "brokers",
  "--client-id": "clientId",
  "--topic": "topic",
  "--dlq-topic": "dlqTopic",
  "--host": "host",
  "--port": "port",
  "--log-level": "logLevel",
  "--batch-size": "batchSize",
  "--poll-interval-ms": "pollIntervalMs",
  "--command-timeout-ms": "commandTimeoutMs",
  "--stop-deadline-ms": "stopDeadlineMs",
  "--spool-dir": "spoolDir",
  "--spool-max-bytes": "spoolMaxBytes",
  "--mask-sources": "maskSources",
  "--mask-salt-file": "maskSaltFile",
};

/** Environment variables and the setting each one sets. */
const ENV: Readonly<Record<string, keyof z.input<typeof settingsSchema>>> = {
  BRIDGE_NODES: "nodes",
  KAFKA_BROKERS: "brokers",
  BRIDGE_CLIENT_ID: "clientId",
  BRIDGE_TOPIC: "topic",
  BRIDGE_DLQ_TOPIC: "dlqTopic",
  BRIDGE_HOST: "host",
  BRIDGE_PORT: "port",
  BRIDGE_LOG_LEVEL: "logLevel",
  BRIDGE_BATCH_SIZE: "batchSize",
  BRIDGE_POLL_INTERVAL_MS: "pollIntervalMs",
  BRIDGE_COMMAND_TIMEOUT_MS: "commandTimeoutMs",
  BRIDGE_STOP_DEADLINE_MS: "stopDeadlineMs",
  BRIDGE_SPOOL_DIR: "spoolDir",
  BRIDGE_SPOOL_MAX_BYTES: "spoolMaxBytes",
  BRIDGE_MASK_SOURCES: "maskSources",
  BRIDGE_MASK_SALT: "maskSalt",
  BRIDGE_MASK_SALT_FILE: "maskSaltFile",
};

/**
 * Builds the configuration from environment and flags (flags win; `--node` flags replace
 * BRIDGE_NODES). Throws `BRIDGE_INVALID_CONFIG` listing every problem; never echoes a key.
 */
export function parseBridgeConfig(sources: ConfigSources): BridgeConfig {
  const readFile = sources.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  let security: KafkaSecurity;
  let argv: readonly string[];
  try {
    ({ security, otherArgs: argv } = readKafkaSecurity({ env: sources.env, argv: sources.argv, readFile }));
  } catch (error) {
    if (error instanceof ConfigError) throw invalid(error.problems);
    throw error;
  }
  const raw: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(ENV)) {
    const value = sources.env[name];
    if (value === undefined || value.trim() === "") continue;
    raw[setting] = setting === "nodes" ? parseJson(name, value) : setting === "brokers" ? splitList(value) : value;
  }
  const flagNodes: unknown[] = [];
  const args = [...argv];
  while (args.length > 0) {
    const arg = args.shift() ?? "";
    const equals = arg.indexOf("=");
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    const setting = FLAGS[flag];
    if (setting === undefined) throw invalid([`unknown argument ${JSON.stringify(flag)} (flags: ${Object.keys(FLAGS).join(", ")})`]);
    const value = equals === -1 ? args.shift() : arg.slice(equals + 1);
    if (value === undefined) throw invalid([`${flag} needs a value`]);
    if (setting === "nodes") flagNodes.push(parseNodeFlag(value));
    else raw[setting] = setting === "brokers" ? splitList(value) : value;
  }
  if (flagNodes.length > 0) raw.nodes = flagNodes;

  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw invalid(parsed.error.issues.map((issue) => `${issue.path.length === 0 ? "config" : issue.path.join(".")}: ${issue.message}`));
  }
  const settings = parsed.data;
  const problems: string[] = [];
  const nodes = settings.nodes.map((node, index) => resolveNode(node, index, sources.env, readFile, problems));
  const addresses = new Set<string>();
  const ids = new Set<string>();
  for (const node of nodes) {
    if (addresses.has(node.address)) problems.push(`nodes: ${node.address} is listed twice`);
    else if (ids.has(node.id)) problems.push(`nodes: the id ${JSON.stringify(node.id)} is given twice (it names the node's spool)`);
    addresses.add(node.address);
    ids.add(node.id);
  }
  if (settings.maskSalt !== undefined && settings.maskSaltFile !== undefined) {
    problems.push("give BRIDGE_MASK_SALT or BRIDGE_MASK_SALT_FILE, not both");
  }
  const salt =
    settings.maskSaltFile === undefined ? settings.maskSalt : readText(settings.maskSaltFile, readFile, "maskSaltFile", problems).trim();
  if (settings.maskSaltFile !== undefined && salt === "") problems.push(`maskSaltFile: ${settings.maskSaltFile} is empty`);
  if (problems.length > 0) throw invalid(problems);

  const tuning: BridgeTuning = {
    ...DEFAULT_TUNING,
    batchSize: settings.batchSize,
    pollIntervalMs: settings.pollIntervalMs,
    commandTimeoutMs: settings.commandTimeoutMs,
  };
  return deepFreeze({
    nodes,
    kafka: { brokers: settings.brokers, clientId: settings.clientId, topic: settings.topic, dlqTopic: settings.dlqTopic, security },
    http: { host: settings.host, port: settings.port },
    logLevel: settings.logLevel,
    stopDeadlineMs: settings.stopDeadlineMs,
    spool: { dir: settings.spoolDir, maxBytes: settings.spoolMaxBytes },
    sourceMask: settings.maskSources ? (salt === undefined ? {} : { salt }) : false,
    tuning,
  });
}

/** {@link parseBridgeConfig} over this process's environment and arguments. */
export function loadBridgeConfig(): BridgeConfig {
  return parseBridgeConfig({ env: process.env, argv: process.argv.slice(2) });
}

/**
 * `--node` value: a JSON object (as one element of BRIDGE_NODES), or
 * `host:port,key-env=NAME,mode=subscribe,tls=true,ca-file=/ca.pem,reject-unauthorized=false,servername=x,id=y`
 * (also `key=...` and `key-file=...`; a key on the command line is visible to other local users).
 */
function parseNodeFlag(value: string): unknown {
  if (value.trim().startsWith("{")) return parseJson("--node", value);
  const [address, ...options] = value.split(",");
  const node: Record<string, unknown> = { address };
  const tls: Record<string, unknown> = {};
  let tlsOn: boolean | undefined;
  for (const option of options) {
    const equals = option.indexOf("=");
    const name = (equals === -1 ? option : option.slice(0, equals)).trim();
    const text = equals === -1 ? "true" : option.slice(equals + 1).trim();
    switch (name) {
      case "key":
        node.managementKey = text;
        break;
      case "key-env":
        node.managementKeyEnv = text;
        break;
      case "key-file":
        node.managementKeyFile = text;
        break;
      case "mode":
        node.mode = text;
        break;
      case "id":
        node.id = text;
        break;
      case "tls":
        tlsOn = parseBoolean("--node tls", text);
        break;
      case "ca-file":
        tls.caFile = text;
        break;
      case "reject-unauthorized":
        tls.rejectUnauthorized = parseBoolean("--node reject-unauthorized", text);
        break;
      case "servername":
        tls.servername = text;
        break;
      default:
        throw invalid([
          `--node: unknown option ${JSON.stringify(name)} (key, key-env, key-file, mode, id, tls, ca-file, reject-unauthorized, servername)`,
        ]);
    }
  }
  if (Object.keys(tls).length > 0 && tlsOn !== false) node.tls = tls;
  else if (tlsOn !== undefined) node.tls = tlsOn;
  return node;
}

function resolveNode(
  input: NodeInput,
  index: number,
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
  problems: string[],
): NodeConfig {
  const where = `nodes.${index} (${input.address})`;
  const [host, port] = splitAddress(input.address);
  let managementKey = input.managementKey ?? "";
  if (input.managementKeyEnv !== undefined) {
    managementKey = env[input.managementKeyEnv] ?? "";
    if (managementKey === "") problems.push(`${where}: environment variable ${input.managementKeyEnv} is empty or not set`);
  }
  if (input.managementKeyFile !== undefined) {
    managementKey = readText(input.managementKeyFile, readFile, `${where}: managementKeyFile`, problems).trim();
    if (managementKey === "") problems.push(`${where}: managementKeyFile ${input.managementKeyFile} is empty`);
  }
  if (port < 1 || port > 65_535) problems.push(`${where}: port ${port} is outside 1..65535`);
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const base = { address, host, port, managementKey, mode: input.mode, id: input.id ?? address };
  if (input.tls === undefined || input.tls === false) return base;
  if (input.tls === true) return { ...base, tls: { rejectUnauthorized: true } };
  const ca = input.tls.caFile === undefined ? input.tls.ca : readText(input.tls.caFile, readFile, `${where}: tls.caFile`, problems);
  return {
    ...base,
    tls: {
      rejectUnauthorized: input.tls.rejectUnauthorized,
      ...(ca === undefined ? {} : { ca }),
      ...(input.tls.servername === undefined ? {} : { servername: input.tls.servername }),
    },
  };
}

function splitAddress(address: string): [string, number] {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (bracketed !== null) return [bracketed[1] ?? "", bracketed[2] === undefined ? DEFAULT_NODE_PORT : Number(bracketed[2])];
  const colon = address.lastIndexOf(":");
  if (colon === -1) return [address, DEFAULT_NODE_PORT];
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

function readText(path: string, readFile: (path: string) => string, what: string, problems: string[]): string {
  try {
    return readFile(path);
  } catch (error) {
    problems.push(`${what}: cannot read ${path}: ${errorMessage(error)}`);
    return "";
  }
}

function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalid([`${what} is not valid JSON: ${errorMessage(error)}`]);
  }
}

function parseBoolean(what: string, text: string): boolean {
  if (/^(true|1|yes|on)$/i.test(text)) return true;
  if (/^(false|0|no|off)$/i.test(text)) return false;
  throw invalid([`${what}: ${JSON.stringify(text)} is not a boolean`]);
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function invalid(problems: readonly string[]): BridgeError {
  return new BridgeError("BRIDGE_INVALID_CONFIG", `invalid bridge configuration:\n- ${problems.join("\n- ")}`);
}
