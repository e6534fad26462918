import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, defineSettings } from "@usage-ledger/settings";
import {
  KAFKA_CLIENT_SETTINGS,
  describeKafkaSecurity,
  isSecured,
  kafkaClientSettingsTable,
  readKafkaSecurity,
  resolveKafkaSecurity,
} from "./client-settings";
import type { KafkaSecurity } from "./client-settings";

const files: Record<string, string> = {
  "/ca.pem": "CA PEM",
  "/client.pem": "CERT PEM",
  "/client.key": "KEY PEM",
  "/password": "hunter2\n",
};
const readFile = (path: string): string => {
  const text = files[path];
  if (text === undefined) throw new Error(`ENOENT: ${path}`);
  return text;
};

/** A service table with the fragment spread in, as the services do. */
const service = defineSettings({ ...KAFKA_CLIENT_SETTINGS });

function security(env: Record<string, string>, argv: string[] = []): KafkaSecurity {
  const loaded = service.load({ env, argv, readFile });
  if (loaded.kind !== "values") throw new Error("expected values");
  return resolveKafkaSecurity(loaded.values);
}

function problems(env: Record<string, string>): readonly string[] {
  try {
    security(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("resolveKafkaSecurity", () => {
  it("is PLAINTEXT when nothing is set", () => {
    expect(security({})).toEqual({});
    expect(isSecured(security({}))).toBe(false);
  });

  it("maps SASL_SSL with SCRAM-SHA-512 and a CA file to kafkajs's ssl and sasl, the password from a file", () => {
    const value = security({
      KAFKA_SSL_CA_FILE: "/ca.pem",
      KAFKA_SASL_MECHANISM: "scram-sha-512",
      KAFKA_SASL_USERNAME: "ledger",
      KAFKA_SASL_PASSWORD_FILE: "/password",
    });
    expect(value).toEqual({
      ssl: { rejectUnauthorized: true, ca: "CA PEM" },
      sasl: { mechanism: "scram-sha-512", username: "ledger", password: "hunter2" },
    });
    expect(Object.isFrozen(value) && Object.isFrozen(value.ssl) && Object.isFrozen(value.sasl)).toBe(true);
  });

  it("maps mTLS (certificate, key, passphrase, server name) and every SASL mechanism", () => {
    expect(
      security({
        KAFKA_SSL_CA_FILE: "/ca.pem",
        KAFKA_SSL_CERT_FILE: "/client.pem",
        KAFKA_SSL_KEY_FILE: "/client.key",
        KAFKA_SSL_KEY_PASSWORD: "pass",
        KAFKA_SSL_SERVERNAME: "kafka.internal",
      }),
    ).toEqual({
      ssl: { rejectUnauthorized: true, ca: "CA PEM", cert: "CERT PEM", key: "KEY PEM", passphrase: "pass", servername: "kafka.internal" },
    });
    for (const mechanism of ["plain", "scram-sha-256", "scram-sha-512"]) {
      expect(security({ KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" }).sasl).toEqual({
        mechanism,
        username: "u",
        password: "p",
      });
    }
  });

  it("turns TLS on with KAFKA_SSL alone (the system's CAs) and turns verification off only with the insecure switch", () => {
    expect(security({ KAFKA_SSL: "true" })).toEqual({ ssl: { rejectUnauthorized: true } });
    expect(security({}, ["--kafka-ssl-insecure"])).toEqual({ ssl: { rejectUnauthorized: false } });
  });

  it("refuses combinations that cannot work, naming the settings", () => {
    expect(problems({ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u" })).toEqual([
      'KAFKA_SASL_MECHANISM (--kafka-sasl-mechanism) = "plain": needs KAFKA_SASL_USERNAME (--kafka-sasl-username) and KAFKA_SASL_PASSWORD (--kafka-sasl-password)',
    ]);
    expect(problems({ KAFKA_SASL_PASSWORD: "p" })).toEqual([
      "KAFKA_SASL_USERNAME (--kafka-sasl-username) / KAFKA_SASL_PASSWORD (--kafka-sasl-password): given without KAFKA_SASL_MECHANISM (--kafka-sasl-mechanism)",
    ]);
    expect(problems({ KAFKA_SSL_CERT_FILE: "/client.pem", KAFKA_SSL_KEY_PASSWORD: "x" })).toEqual([
      "KAFKA_SSL_CERT_FILE (--kafka-ssl-cert-file) and KAFKA_SSL_KEY_FILE (--kafka-ssl-key-file): give both (a client certificate and its key) or neither",
      "KAFKA_SSL_KEY_PASSWORD (--kafka-ssl-key-password): given without KAFKA_SSL_KEY_FILE (--kafka-ssl-key-file)",
    ]);
    expect(problems({ KAFKA_SSL_INSECURE: "1", KAFKA_SSL_CA_FILE: "/ca.pem" })[0]).toContain("not both");
  });
});

describe("describeKafkaSecurity", () => {
  it("says what the security is without any secret or key material", () => {
    const value = security({
      KAFKA_SSL_CA_FILE: "/ca.pem",
      KAFKA_SSL_CERT_FILE: "/client.pem",
      KAFKA_SSL_KEY_FILE: "/client.key",
      KAFKA_SASL_MECHANISM: "scram-sha-256",
      KAFKA_SASL_USERNAME: "ledger",
      KAFKA_SASL_PASSWORD: "hunter2",
    });
    const described = describeKafkaSecurity(value);
    expect(described).toEqual({ tls: "on", ca: "KAFKA_SSL_CA_FILE", clientCertificate: true, sasl: "scram-sha-256", user: "ledger" });
    expect(JSON.stringify(described)).not.toMatch(/hunter2|PEM/);
    expect(describeKafkaSecurity(undefined)).toEqual({ tls: "off", sasl: "off" });
    expect(describeKafkaSecurity(security({ KAFKA_SSL_INSECURE: "true" })).tls).toBe("on, NOT VERIFIED (insecure switch)");
  });
});

describe("readKafkaSecurity", () => {
  it("takes the fragment's flags out of a command line another parser reads, and leaves the rest", () => {
    const { security: value, otherArgs } = readKafkaSecurity({
      env: { KAFKA_SASL_USERNAME: "u" },
      argv: ["--node", "a:1", "--kafka-sasl-mechanism", "plain", "--kafka-sasl-password-file=/password", "--kafka-ssl", "--port", "0"],
      readFile,
    });
    expect(value).toEqual({ ssl: { rejectUnauthorized: true }, sasl: { mechanism: "plain", username: "u", password: "hunter2" } });
    expect(otherArgs).toEqual(["--node", "a:1", "--port", "0"]);
  });
});

describe("packages/kafka-contract/README.md", () => {
  it("holds exactly the generated table of the client settings", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const match = /<!-- kafka-client-settings:start -->\n([\s\S]*?)\n<!-- kafka-client-settings:end -->/.exec(readme);
    expect(match?.[1]).toBe(kafkaClientSettingsTable());
  });
});
