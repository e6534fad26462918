import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CONFIG_ERROR_CODES } from "@usage-ledger/settings";
import { ConfigError, SETTINGS, isLoopbackHost, loadConfig, settingsMarkdownTable, helpText } from "./config";
import type { LedgerConfig } from "./config";

const defaults = { instanceId: "host-1", logFileWithDemo: "/tmp/ledger-demo.log", demoSeed: 42, kafkaDir: "/repo/.cache/ledger-kafka" };

function load(env: Record<string, string> = {}, argv: string[] = []): LedgerConfig {
  const result = loadConfig({ env, argv, defaults });
  if (result.kind !== "config") throw new Error("expected a configuration");
  return result.config;
}

function problemsOf(env: Record<string, string>, argv: string[] = []): { code: string; problems: readonly string[] } {
  try {
    loadConfig({ env, argv, defaults });
  } catch (error) {
    if (error instanceof ConfigError) return { code: error.code, problems: error.problems };
    throw error;
  }
  throw new Error("expected a ConfigError");
}

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

describe("loadConfig", () => {
  it("has documented defaults for everything", () => {
    expect(load()).toEqual({
      kafkaBrokers: [],
      kafkaSecurity: {},
      kafkaDir: "/repo/.cache/ledger-kafka",
      http: { host: "127.0.0.1", port: 8318, bodyLimitBytes: 268_435_456 },
      managementKey: undefined,
      topics: { records: "usage.records", dlq: "usage.records.dlq", snapshots: "usage.snapshots" },
      partitions: 6,
      groupId: "usage-ledger-aggregator",
      instanceId: "host-1",
      clientId: "usage-ledger-aggregator",
      snapshot: { intervalMs: 10_000, everyRecords: 100_000, fullEvery: 10 },
      logLevel: "info",
      logFile: "/tmp/ledger-demo.log",
      demo: { enabled: true, nodes: 4, ratePerSecond: 200, resendRate: 0.02, seed: 42 },
      statusIntervalMs: 2000,
      prices: { file: undefined, topic: "usage.prices" },
    });
  });

  it("reads every setting from its environment variable", () => {
    const config = load({
      KAFKA_BROKERS: "k1:9092, k2:9093",
      LEDGER_KAFKA_DIR: "/data/kafka",
      LEDGER_HTTP_HOST: "0.0.0.0",
      LEDGER_HTTP_PORT: "0",
      LEDGER_HTTP_BODY_LIMIT_BYTES: "2048",
      LEDGER_MANAGEMENT_KEY: "s3cret",
      LEDGER_RECORDS_TOPIC: "r",
      LEDGER_DLQ_TOPIC: "r.dlq",
      LEDGER_SNAPSHOTS_TOPIC: "s",
      LEDGER_PARTITIONS: "12",
      LEDGER_GROUP_ID: "g",
      LEDGER_INSTANCE_ID: "i",
      LEDGER_CLIENT_ID: "c",
      LEDGER_SNAPSHOT_INTERVAL_MS: "500",
      LEDGER_SNAPSHOT_EVERY_RECORDS: "7",
      LEDGER_FULL_SNAPSHOT_EVERY: "3",
      LEDGER_LOG_LEVEL: "debug",
      LEDGER_LOG_FILE: "/var/log/ledger.log",
      LEDGER_DEMO: "off",
      LEDGER_DEMO_NODES: "9",
      LEDGER_DEMO_RATE: "12.5",
      LEDGER_DEMO_RESEND_RATE: "0.5",
      LEDGER_DEMO_SEED: "7",
      LEDGER_STATUS_INTERVAL_MS: "250",
      LEDGER_PRICES_FILE: "/etc/ledger/prices.json",
      LEDGER_PRICES_TOPIC: "p",
    });
    expect(config).toEqual({
      kafkaBrokers: ["k1:9092", "k2:9093"],
      kafkaSecurity: {},
      kafkaDir: "/data/kafka",
      http: { host: "0.0.0.0", port: 0, bodyLimitBytes: 2048 },
      managementKey: "s3cret",
      topics: { records: "r", dlq: "r.dlq", snapshots: "s" },
      partitions: 12,
      groupId: "g",
      instanceId: "i",
      clientId: "c",
      snapshot: { intervalMs: 500, everyRecords: 7, fullEvery: 3 },
      logLevel: "debug",
      logFile: "/var/log/ledger.log",
      demo: { enabled: false, nodes: 9, ratePerSecond: 12.5, resendRate: 0.5, seed: 7 },
      statusIntervalMs: 250,
      prices: { file: "/etc/ledger/prices.json", topic: "p" },
    });
  });

  it("lets flags win over variables, in both --flag value and --flag=value forms", () => {
    const config = load({ LEDGER_HTTP_PORT: "9000", LEDGER_PARTITIONS: "3", LEDGER_DEMO: "true" }, [
      "--http-port",
      "0",
      "--partitions=4",
      "--no-demo",
      "--management-key",
      "k",
    ]);
    expect(config.http.port).toBe(0);
    expect(config.partitions).toBe(4);
    expect(config.demo.enabled).toBe(false);
    expect(config.managementKey).toBe("k");
    expect(load({ LEDGER_DEMO: "false" }, ["--demo"]).demo.enabled).toBe(true);
  });

  it("logs to standard output without the demo, unless a file is given", () => {
    expect(load({}, ["--no-demo"]).logFile).toBe("-");
    expect(load({ LEDGER_LOG_FILE: "x.log" }, ["--no-demo"]).logFile).toBe("x.log");
  });

  it("treats an empty variable as unset", () => {
    expect(load({ LEDGER_HTTP_PORT: "", LEDGER_MANAGEMENT_KEY: "" })).toMatchObject({
      http: { port: 8318 },
      managementKey: undefined,
    });
  });

  it("returns a deeply frozen object", () => {
    const config = load();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(Object.isFrozen(config.demo)).toBe(true);
    expect(Object.isFrozen(config.kafkaBrokers)).toBe(true);
  });

  it("names the variable, the flag, the value and what is wrong, for every bad setting at once", () => {
    const { code, problems } = problemsOf({
      LEDGER_HTTP_PORT: "80a",
      LEDGER_PARTITIONS: "0",
      LEDGER_DEMO_RESEND_RATE: "1.5",
      LEDGER_LOG_LEVEL: "loud",
      LEDGER_DEMO: "maybe",
      KAFKA_BROKERS: "localhost",
      LEDGER_RECORDS_TOPIC: "bad topic",
      LEDGER_DEMO_RATE: "0",
    });
    expect(code).toBe("CONFIG_INVALID");
    expect([...problems].sort()).toEqual(
      [
        'KAFKA_BROKERS (--kafka-brokers) = "localhost": "localhost" is not host:port (expected a comma-separated host:port list, an IPv6 address in brackets ([::1]:9092))',
        'LEDGER_HTTP_PORT (--http-port) = "80a": expected an integer',
        'LEDGER_PARTITIONS (--partitions) = "0": must be at least 1',
        'LEDGER_DEMO_RESEND_RATE (--demo-resend-rate) = "1.5": must be at most 1',
        'LEDGER_LOG_LEVEL (--log-level) = "loud": expected one of fatal, error, warn, info, debug, trace, silent',
        'LEDGER_DEMO (--demo) = "maybe": expected true/false (or 1/0, yes/no, on/off)',
        "LEDGER_RECORDS_TOPIC (--records-topic) = \"bad topic\": may contain only letters, digits, '.', '_' and '-'",
        'LEDGER_DEMO_RATE (--demo-rate) = "0": must be greater than 0',
      ].sort(),
    );
  });

  it("reads the management key from the file LEDGER_MANAGEMENT_KEY_FILE or --management-key-file names, and never shows it", () => {
    const readFile = (path: string): string => {
      if (path === "/run/secrets/key") return "from-a-file\n";
      throw new Error(`ENOENT: ${path}`);
    };
    const fromFile = (env: Record<string, string>, argv: string[] = []): LedgerConfig => {
      const result = loadConfig({ env, argv, defaults, readFile });
      if (result.kind !== "config") throw new Error("expected a configuration");
      return result.config;
    };
    expect(fromFile({ LEDGER_MANAGEMENT_KEY_FILE: "/run/secrets/key" }).managementKey).toBe("from-a-file");
    expect(fromFile({}, ["--management-key-file", "/run/secrets/key"]).managementKey).toBe("from-a-file");
    expect(problemsOf({ LEDGER_MANAGEMENT_KEY: "hunter2", LEDGER_MANAGEMENT_KEY_FILE: "/x" }).problems).toEqual([
      "LEDGER_MANAGEMENT_KEY and LEDGER_MANAGEMENT_KEY_FILE: give the value or the file, not both",
    ]);
    const loaded = SETTINGS.load({ env: { LEDGER_MANAGEMENT_KEY: "hunter2" }, argv: [] });
    if (loaded.kind !== "values") throw new Error("expected values");
    expect(SETTINGS.redacted(loaded.values).managementKey).toBe("[redacted]");
  });

  it("takes the aggregator's own floor for the snapshot interval", () => {
    expect(problemsOf({ LEDGER_SNAPSHOT_INTERVAL_MS: "99" }).problems).toEqual([
      'LEDGER_SNAPSHOT_INTERVAL_MS (--snapshot-interval-ms) = "99": must be at least 100',
    ]);
    expect(load({ LEDGER_SNAPSHOT_INTERVAL_MS: "100" }).snapshot.intervalMs).toBe(100);
  });

  it("reads the Kafka client security settings (packages/kafka-contract's fragment), only for an existing cluster", () => {
    const config = load({
      KAFKA_BROKERS: "k:9096",
      KAFKA_SSL: "true",
      KAFKA_SASL_MECHANISM: "scram-sha-512",
      KAFKA_SASL_USERNAME: "ledger",
      KAFKA_SASL_PASSWORD: "hunter2",
    });
    expect(config.kafkaSecurity).toEqual({
      ssl: { rejectUnauthorized: true },
      sasl: { mechanism: "scram-sha-512", username: "ledger", password: "hunter2" },
    });
    expect(problemsOf({ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" }).problems).toEqual([
      "the KAFKA_SSL_* / KAFKA_SASL_* settings need KAFKA_BROKERS (--kafka-brokers): the local broker started without it listens without TLS or SASL",
    ]);
    expect(
      problemsOf({ KAFKA_BROKERS: "k:1", KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_PASSWORD: "hunter2" }).problems.join("\n"),
    ).not.toContain("hunter2");
  });

  it("accepts an IPv6 broker in brackets", () => {
    expect(load({ KAFKA_BROKERS: "[::1]:9092,k:1" }).kafkaBrokers).toEqual(["[::1]:9092", "k:1"]);
  });

  it("refuses a port out of range and a fractional integer", () => {
    expect(problemsOf({ LEDGER_HTTP_PORT: "65536" }).problems).toEqual(['LEDGER_HTTP_PORT (--http-port) = "65536": must be at most 65535']);
    expect(problemsOf({}, ["--partitions", "1.5"]).problems).toEqual(['LEDGER_PARTITIONS (--partitions) = "1.5": expected an integer']);
  });

  it("refuses a non-loopback address without a management key", () => {
    expect(problemsOf({ LEDGER_HTTP_HOST: "0.0.0.0" }).problems).toEqual([
      'LEDGER_HTTP_HOST (--http-host) = "0.0.0.0": without LEDGER_MANAGEMENT_KEY the API listens on loopback only; set LEDGER_MANAGEMENT_KEY or use 127.0.0.1',
    ]);
    expect(load({ LEDGER_HTTP_HOST: "::1" }).http.host).toBe("::1");
    expect(load({ LEDGER_HTTP_HOST: "localhost" }).http.host).toBe("localhost");
  });

  it("refuses an unknown flag and a stray argument with CONFIG_UNKNOWN_FLAG", () => {
    const unknown = problemsOf({}, ["--http-prot", "1"]);
    expect(unknown.code).toBe("CONFIG_UNKNOWN_FLAG");
    expect(unknown.problems[0]).toContain("--http-prot");
    expect(problemsOf({}, ["stray"]).code).toBe("CONFIG_UNKNOWN_FLAG");
    expect(problemsOf({}, ["--no-partitions"]).code).toBe("CONFIG_UNKNOWN_FLAG");
  });

  it("answers --help and -h with a request for the help text, which lists every flag", () => {
    expect(loadConfig({ env: {}, argv: ["--help"], defaults })).toEqual({ kind: "help" });
    expect(loadConfig({ env: {}, argv: ["-h"], defaults })).toEqual({ kind: "help" });
    const help = helpText();
    for (const spec of Object.values(SETTINGS.table)) {
      expect(help).toContain(`--${spec.flag}`);
      expect(help).toContain(spec.env);
    }
  });
});

describe("isLoopbackHost", () => {
  it("accepts only addresses this machine alone can reach", () => {
    expect(["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"].map(isLoopbackHost)).toEqual([true, true, true, true, true]);
    expect(["0.0.0.0", "::", "10.0.0.1", "example.com", "128.0.0.1"].map(isLoopbackHost)).toEqual([false, false, false, false, false]);
  });
});

describe("services/aggregator/README.md", () => {
  it("holds exactly the generated settings table", () => {
    const match = /<!-- settings:start -->\n([\s\S]*?)\n<!-- settings:end -->/.exec(readme);
    expect(match?.[1]).toBe(settingsMarkdownTable());
  });

  it("documents exactly the config error codes", () => {
    const documented = [...readme.matchAll(/^\| `(CONFIG_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...CONFIG_ERROR_CODES].sort());
  });
});
