import { describe, expect, it } from "vitest";
import { DEFAULT_TUNING } from "./bridge";
import { parseBridgeConfig, type ConfigSources } from "./config";
import { isBridgeError } from "./errors";

const files: Record<string, string> = {
  "/etc/bridge/node-a.key": "key-from-file\n",
  "/etc/bridge/ca.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  "/etc/bridge/salt": "  fleet-salt\n",
};
const readFile = (path: string): string => {
  const text = files[path];
  if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
  return text;
};

function parse(sources: Partial<ConfigSources>) {
  return parseBridgeConfig({ env: {}, argv: [], readFile, ...sources });
}

/** The BRIDGE_INVALID_CONFIG message of a config that must be refused. */
function refusal(sources: Partial<ConfigSources>): string {
  try {
    parse(sources);
  } catch (error) {
    expect(isBridgeError(error, "BRIDGE_INVALID_CONFIG")).toBe(true);
    return (error as Error).message;
  }
  throw new Error("the config was accepted");
}

describe("parseBridgeConfig", () => {
  it("reads nodes as a JSON list and the rest from the environment, with defaults", () => {
    const config = parse({
      env: {
        BRIDGE_NODES: JSON.stringify([
          { address: "10.0.0.5:8317", managementKey: "k1" },
          { address: "proxy-b", managementKeyEnv: "NODE_B_KEY", mode: "subscribe", tls: true },
          {
            address: "[::1]:9000",
            managementKeyFile: "/etc/bridge/node-a.key",
            mode: "http",
            tls: { caFile: "/etc/bridge/ca.pem", servername: "proxy" },
            id: "edge-1",
          },
        ]),
        NODE_B_KEY: "k2",
        KAFKA_BROKERS: "kafka-1:9092, kafka-2:9092",
        BRIDGE_PORT: "9100",
      },
    });
    expect(config).toEqual({
      nodes: [
        { address: "10.0.0.5:8317", host: "10.0.0.5", port: 8317, managementKey: "k1", mode: "lpop", id: "10.0.0.5:8317" },
        {
          address: "proxy-b:8317",
          host: "proxy-b",
          port: 8317,
          managementKey: "k2",
          mode: "subscribe",
          id: "proxy-b:8317",
          tls: { rejectUnauthorized: true },
        },
        {
          address: "[::1]:9000",
          host: "::1",
          port: 9000,
          managementKey: "key-from-file",
          mode: "http",
          id: "edge-1",
          tls: { rejectUnauthorized: true, ca: files["/etc/bridge/ca.pem"], servername: "proxy" },
        },
      ],
      kafka: {
        brokers: ["kafka-1:9092", "kafka-2:9092"],
        clientId: "usage-ledger-bridge",
        topic: "usage.records",
        dlqTopic: "usage.records.dlq",
        security: {},
      },
      http: { host: "0.0.0.0", port: 9100 },
      logLevel: "info",
      stopDeadlineMs: 30_000,
      spool: { dir: "bridge-spool", maxBytes: 1024 * 1024 * 1024 },
      sourceMask: {},
      tuning: DEFAULT_TUNING,
    });
  });

  it("takes repeated --node flags (they replace BRIDGE_NODES) and flags over environment", () => {
    const config = parse({
      env: {
        BRIDGE_NODES: JSON.stringify([{ address: "ignored:1", managementKey: "x" }]),
        KAFKA_BROKERS: "env:9092",
        BRIDGE_BATCH_SIZE: "100",
        N1: "k1",
      },
      argv: [
        "--node",
        "node-1:8317,key-env=N1,mode=subscribe",
        "--node=node-2:8400,key-file=/etc/bridge/node-a.key,tls=true,ca-file=/etc/bridge/ca.pem,reject-unauthorized=false",
        "--node",
        '{"address":"node-3","managementKey":"k3","mode":"http"}',
        "--kafka-brokers=flag:9092",
        "--batch-size",
        "250",
        "--log-level",
        "debug",
      ],
    });
    expect(config.nodes.map((node) => [node.address, node.mode, node.managementKey, node.tls])).toEqual([
      ["node-1:8317", "subscribe", "k1", undefined],
      ["node-2:8400", "lpop", "key-from-file", { rejectUnauthorized: false, ca: files["/etc/bridge/ca.pem"] }],
      ["node-3:8317", "http", "k3", undefined],
    ]);
    expect(config.kafka.brokers).toEqual(["flag:9092"]);
    expect(config.tuning.batchSize).toBe(250);
    expect(config.spool).toEqual({ dir: "bridge-spool", maxBytes: 1024 * 1024 * 1024 });
    expect(config.sourceMask).toEqual({});
    expect(config.logLevel).toBe("debug");
  });

  it("reads the spool and masking settings (masking on by default; a salt inline or from a file; off on request)", () => {
    const config = parse({
      env: { BRIDGE_SPOOL_DIR: "/var/lib/bridge", BRIDGE_SPOOL_MAX_BYTES: "67108864", BRIDGE_MASK_SALT_FILE: "/etc/bridge/salt" },
      argv: ["--node", "a:1,key=k", "--kafka-brokers", "b:2"],
    });
    expect([config.spool, config.sourceMask]).toEqual([{ dir: "/var/lib/bridge", maxBytes: 67_108_864 }, { salt: "fleet-salt" }]);
    const off = parse({ env: { BRIDGE_MASK_SOURCES: "FALSE" }, argv: ["--node", "a:1,key=k", "--kafka-brokers", "b:2"] });
    expect(off.sourceMask).toBe(false);
    expect(parse({ argv: ["--node", "a:1,key=k", "--kafka-brokers", "b:2", "--mask-sources=off"] }).sourceMask).toBe(false);
    expect(() => parse({ env: { BRIDGE_MASK_SOURCES: "maybe" }, argv: ["--node", "a:1,key=k", "--kafka-brokers", "b:2"] })).toThrow(
      /maskSources: must be true or false/,
    );
    expect(() => parse({ env: { BRIDGE_SPOOL_MAX_BYTES: "1000" }, argv: ["--node", "a:1,key=k", "--kafka-brokers", "b:2"] })).toThrow(
      /spoolMaxBytes/,
    );
    expect(() => parse({ argv: ["--node", "a:1,key=k,id=same", "--node", "b:1,key=k,id=same", "--kafka-brokers", "b:2"] })).toThrow(
      /the id "same" is given twice/,
    );
  });

  it("reads the Kafka client security settings of packages/kafka-contract from variables and flags among its own", () => {
    const config = parse({
      env: { KAFKA_BROKERS: "k:9096", KAFKA_SASL_USERNAME: "bridge", KAFKA_SASL_PASSWORD_FILE: "/etc/bridge/node-a.key" },
      argv: ["--node", "a:1,key=k", "--kafka-ssl-ca-file", "/etc/bridge/ca.pem", "--kafka-sasl-mechanism=scram-sha-256", "--port", "0"],
    });
    expect(config.kafka.security).toEqual({
      ssl: { rejectUnauthorized: true, ca: files["/etc/bridge/ca.pem"] },
      sasl: { mechanism: "scram-sha-256", username: "bridge", password: "key-from-file" },
    });
    expect(config.http.port).toBe(0);
    const message = refusal({
      env: { KAFKA_BROKERS: "k:1", KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_PASSWORD: "secret-kafka" },
      argv: ["--node", "a:1,key=k"],
    });
    expect(message).toContain("KAFKA_SASL_MECHANISM (--kafka-sasl-mechanism)");
    expect(message).not.toContain("secret-kafka");
  });

  it("returns a deeply frozen object", () => {
    const config = parse({ argv: ["--node", "a:1,key=k", "--kafka-brokers", "b:2"] });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.nodes)).toBe(true);
    expect(Object.isFrozen(config.nodes[0])).toBe(true);
    expect(Object.isFrozen(config.tuning.auth.retryDelaysMs)).toBe(true);
    expect(() => {
      (config.kafka as { topic: string }).topic = "other";
    }).toThrow(TypeError);
  });

  it("lists every problem at once and never echoes a key", () => {
    const message = refusal({
      env: {
        BRIDGE_NODES: JSON.stringify([
          { address: "a:1", managementKey: "secret-one", mode: "poll" },
          { address: "b:2", managementKey: "secret-two", managementKeyEnv: "X" },
          { address: "c:99999", managementKey: "secret-three" },
          { address: "d:1", managementKeyEnv: "UNSET_VARIABLE" },
          { address: "e:1", managementKeyFile: "/missing.key" },
          { address: "not a host", managementKey: "k" },
        ]),
        BRIDGE_PORT: "http",
      },
    });
    expect(message).toContain("nodes.0.mode");
    expect(message).toContain("exactly one of managementKey, managementKeyEnv, managementKeyFile");
    expect(message).toContain("nodes.5.address: must be host:port");
    expect(message).toContain("brokers: at least one Kafka broker is needed");
    expect(message).toContain("port");
    expect(message).not.toMatch(/secret-(one|two|three)/);
  });

  it("refuses node problems found after the schema: unset key variables, unreadable files, bad ports, duplicates", () => {
    const message = refusal({
      env: {
        BRIDGE_NODES: JSON.stringify([
          { address: "c:99999", managementKey: "k" },
          { address: "d:1", managementKeyEnv: "UNSET_VARIABLE" },
          { address: "e:1", managementKeyFile: "/missing.key" },
          { address: "f:1", managementKey: "k" },
          { address: "f:1", managementKey: "k", mode: "http" },
        ]),
        KAFKA_BROKERS: "k:9092",
      },
    });
    expect(message).toContain("port 99999 is outside 1..65535");
    expect(message).toContain("environment variable UNSET_VARIABLE is empty or not set");
    expect(message).toContain("cannot read /missing.key");
    expect(message).toContain("f:1 is listed twice");
  });

  it.each([
    [["--bogus", "1"], "unknown argument"],
    [["--node"], "--node needs a value"],
    [["--node", "a:1,colour=blue"], 'unknown option "colour"'],
    [["--node", "a:1,key=k,tls=maybe"], "is not a boolean"],
    [["--node", "{not json"], "is not valid JSON"],
  ])("refuses bad flags %j", (argv, expected) => {
    expect(refusal({ argv, env: { KAFKA_BROKERS: "k:9092" } })).toContain(expected);
  });
});
