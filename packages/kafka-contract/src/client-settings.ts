import type { KafkaConfig } from "kafkajs";
import { ConfigError, defineSettings, kind } from "@usage-ledger/settings";
import type { SettingSources, SettingValues } from "@usage-ledger/settings";

/**
 * The settings of a Kafka client for a secured cluster (TLS, mTLS, SASL PLAIN/SCRAM), one fragment
 * every service spreads into its settings table, so every command reads the same variables and
 * flags. {@link resolveKafkaSecurity} turns their values into kafkajs's `ssl` and `sasl` options.
 */
export const KAFKA_CLIENT_SETTINGS = {
  kafkaSsl: {
    env: "KAFKA_SSL",
    flag: "kafka-ssl",
    ...kind.boolean(),
    default: "false",
    doc: "Connect to Kafka with TLS. Any other `KAFKA_SSL_*` setting turns it on too.",
  },
  kafkaSslCaFile: {
    env: "KAFKA_SSL_CA_FILE",
    flag: "kafka-ssl-ca-file",
    ...kind.file(),
    unset: "(the system's trusted CAs)",
    doc: "PEM file of the CA certificate(s) that sign the brokers' certificates.",
  },
  kafkaSslCertFile: {
    env: "KAFKA_SSL_CERT_FILE",
    flag: "kafka-ssl-cert-file",
    ...kind.file(),
    unset: "(none)",
    doc: "PEM file of this client's certificate, for brokers that require one (mTLS); needs `KAFKA_SSL_KEY_FILE`.",
  },
  kafkaSslKeyFile: {
    env: "KAFKA_SSL_KEY_FILE",
    flag: "kafka-ssl-key-file",
    ...kind.file(),
    unset: "(none)",
    doc: "PEM file of the private key of that certificate.",
  },
  kafkaSslKeyPassword: {
    env: "KAFKA_SSL_KEY_PASSWORD",
    flag: "kafka-ssl-key-password",
    ...kind.exactText(),
    secret: true,
    unset: "(none: the key is not encrypted)",
    doc: "Passphrase of an encrypted private key.",
  },
  kafkaSslServername: {
    env: "KAFKA_SSL_SERVERNAME",
    flag: "kafka-ssl-servername",
    ...kind.text(),
    unset: "(the broker's host name)",
    doc: "The name the brokers' certificates must carry (TLS SNI and verification), when it is not the address's host name.",
  },
  kafkaSslInsecure: {
    env: "KAFKA_SSL_INSECURE",
    flag: "kafka-ssl-insecure",
    ...kind.boolean(),
    default: "false",
    doc: "FOR TESTS ONLY: TLS without verifying the brokers' certificates (anyone on the path can read and change the traffic).",
  },
  kafkaSaslMechanism: {
    env: "KAFKA_SASL_MECHANISM",
    flag: "kafka-sasl-mechanism",
    ...kind.oneOf(["plain", "scram-sha-256", "scram-sha-512"]),
    unset: "(none: no SASL)",
    doc: "SASL mechanism of the brokers' SASL listener; needs `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD`. Use it with TLS: PLAIN sends the password as is.",
  },
  kafkaSaslUsername: {
    env: "KAFKA_SASL_USERNAME",
    flag: "kafka-sasl-username",
    ...kind.text(),
    unset: "(none)",
    doc: "SASL user name.",
  },
  kafkaSaslPassword: {
    env: "KAFKA_SASL_PASSWORD",
    flag: "kafka-sasl-password",
    ...kind.exactText(),
    secret: true,
    unset: "(none)",
    doc: "SASL password (prefer `KAFKA_SASL_PASSWORD_FILE`: a flag's value is visible to other local users).",
  },
} as const;

/** The values of {@link KAFKA_CLIENT_SETTINGS} (a service's own values include them). */
export type KafkaClientSettingValues = SettingValues<typeof KAFKA_CLIENT_SETTINGS>;

/** kafkajs's `ssl` and `sasl` client options: how to reach a secured cluster (none for a PLAINTEXT one). */
export type KafkaSecurity = Readonly<Pick<KafkaConfig, "ssl" | "sasl">>;

const FRAGMENT = defineSettings(KAFKA_CLIENT_SETTINGS);

/**
 * kafkajs's `ssl`/`sasl` options from the values of {@link KAFKA_CLIENT_SETTINGS}. Throws a
 * `ConfigError` (CONFIG_INVALID) for combinations that cannot work: SASL without a user name or
 * password (or those without a mechanism), a certificate without its key, a key password without
 * a key, the insecure switch together with a CA file.
 */
export function resolveKafkaSecurity(values: KafkaClientSettingValues): KafkaSecurity {
  const name = (setting: keyof typeof KAFKA_CLIENT_SETTINGS): string => FRAGMENT.describe(setting);
  const problems: string[] = [];
  const { kafkaSaslMechanism: mechanism, kafkaSaslUsername: username, kafkaSaslPassword: password } = values;
  if (mechanism === undefined && (username !== undefined || password !== undefined)) {
    problems.push(`${name("kafkaSaslUsername")} / ${name("kafkaSaslPassword")}: given without ${name("kafkaSaslMechanism")}`);
  }
  if (mechanism !== undefined && (username === undefined || password === undefined)) {
    problems.push(`${name("kafkaSaslMechanism")} = "${mechanism}": needs ${name("kafkaSaslUsername")} and ${name("kafkaSaslPassword")}`);
  }
  if ((values.kafkaSslCertFile === undefined) !== (values.kafkaSslKeyFile === undefined)) {
    problems.push(`${name("kafkaSslCertFile")} and ${name("kafkaSslKeyFile")}: give both (a client certificate and its key) or neither`);
  }
  if (values.kafkaSslKeyPassword !== undefined && values.kafkaSslKeyFile === undefined) {
    problems.push(`${name("kafkaSslKeyPassword")}: given without ${name("kafkaSslKeyFile")}`);
  }
  if (values.kafkaSslInsecure && values.kafkaSslCaFile !== undefined) {
    problems.push(
      `${name("kafkaSslInsecure")} with ${name("kafkaSslCaFile")}: verify against the CA, or (tests only) not at all, not both`,
    );
  }
  if (problems.length > 0) throw new ConfigError("CONFIG_INVALID", problems);
  const tls =
    values.kafkaSsl ||
    values.kafkaSslInsecure ||
    values.kafkaSslCaFile !== undefined ||
    values.kafkaSslCertFile !== undefined ||
    values.kafkaSslServername !== undefined;
  const ssl = tls
    ? {
        rejectUnauthorized: !values.kafkaSslInsecure,
        ...(values.kafkaSslCaFile === undefined ? {} : { ca: values.kafkaSslCaFile.text }),
        ...(values.kafkaSslCertFile === undefined ? {} : { cert: values.kafkaSslCertFile.text }),
        ...(values.kafkaSslKeyFile === undefined ? {} : { key: values.kafkaSslKeyFile.text }),
        ...(values.kafkaSslKeyPassword === undefined ? {} : { passphrase: values.kafkaSslKeyPassword }),
        ...(values.kafkaSslServername === undefined ? {} : { servername: values.kafkaSslServername }),
      }
    : undefined;
  const sasl =
    mechanism === undefined || username === undefined || password === undefined
      ? undefined
      : mechanism === "plain"
        ? { mechanism, username, password }
        : mechanism === "scram-sha-256"
          ? { mechanism, username, password }
          : { mechanism, username, password };
  return Object.freeze({
    ...(ssl === undefined ? {} : { ssl: Object.freeze(ssl) }),
    ...(sasl === undefined ? {} : { sasl: Object.freeze(sasl) }),
  });
}

/** Whether the security asks for anything (TLS or SASL). */
export function isSecured(security: KafkaSecurity | undefined): boolean {
  return security?.ssl !== undefined || security?.sasl !== undefined;
}

/** What the security is, without any secret or key material: for logs and status lines. */
export function describeKafkaSecurity(security: KafkaSecurity | undefined): Readonly<Record<string, string | boolean>> {
  const ssl = typeof security?.ssl === "object" ? security.ssl : security?.ssl === true ? {} : undefined;
  const sasl = typeof security?.sasl === "object" ? security.sasl : undefined;
  return {
    tls: ssl === undefined ? "off" : ssl.rejectUnauthorized === false ? "on, NOT VERIFIED (insecure switch)" : "on",
    ...(ssl === undefined ? {} : { ca: ssl.ca === undefined ? "system" : "KAFKA_SSL_CA_FILE", clientCertificate: ssl.cert !== undefined }),
    sasl: sasl === undefined ? "off" : sasl.mechanism,
    ...(sasl !== undefined && "username" in sasl ? { user: sasl.username } : {}),
  };
}

/**
 * For a command with its own argument parser (not on packages/settings): takes the
 * {@link KAFKA_CLIENT_SETTINGS} flags out of `argv`, reads them and their variables, and returns
 * the security and the arguments left for the command. Throws `ConfigError` as `load` does.
 */
export function readKafkaSecurity(sources: SettingSources): { readonly security: KafkaSecurity; readonly otherArgs: readonly string[] } {
  const ours = new Map<string, boolean>();
  for (const spec of Object.values(KAFKA_CLIENT_SETTINGS)) {
    const isSwitch = spec.kind === "boolean";
    ours.set(spec.flag, !isSwitch);
    if (isSwitch) ours.set(`no-${spec.flag}`, false);
    if ("secret" in spec) ours.set(`${spec.flag}-file`, true);
  }
  const mine: string[] = [];
  const otherArgs: string[] = [];
  for (let index = 0; index < sources.argv.length; index++) {
    const arg = sources.argv[index] ?? "";
    const name = arg.startsWith("--") ? (arg.slice(2).split("=")[0] ?? "") : "";
    const takesValue = ours.get(name);
    if (takesValue === undefined) {
      otherArgs.push(arg);
      continue;
    }
    mine.push(arg);
    if (takesValue && !arg.includes("=") && index + 1 < sources.argv.length) mine.push(sources.argv[++index] ?? "");
  }
  const loaded = FRAGMENT.load({ ...sources, argv: mine });
  if (loaded.kind === "help") return { security: {}, otherArgs };
  return { security: resolveKafkaSecurity(loaded.values), otherArgs };
}

/** The README table of {@link KAFKA_CLIENT_SETTINGS}. */
export function kafkaClientSettingsTable(): string {
  return FRAGMENT.markdownTable();
}
