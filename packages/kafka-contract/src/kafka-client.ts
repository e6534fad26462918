import { connect as connectTcp, isIP } from "node:net";
import { connect as connectTls } from "node:tls";
import { Kafka } from "kafkajs";
import type { ISocketFactory, KafkaConfig, SASLOptions } from "kafkajs";
import { kafkaAccessFailure } from "./access-errors";
import { formatBrokerAddress, parseBrokerList, parseBrokerAddress } from "./brokers";
import type { BrokerAddress } from "./brokers";
import { describeKafkaSecurity } from "./client-settings";
import type { KafkaSecurity } from "./client-settings";
import { KafkaContractError } from "./errors";
import { kafkaLogCreator, kafkaLogLevelFor, silentLogger } from "./kafka-log";
import type { KafkaLogger } from "./kafka-log";

/** Options of {@link kafkaClientConfig}. */
export interface KafkaClientOptions {
  readonly clientId: string;
  /** Bootstrap brokers: `host:port`, an IPv6 address in brackets (`[::1]:9092`). */
  readonly brokers: readonly string[];
  /** Where kafkajs's lines go (see `kafkaLogCreator`); default: nowhere. */
  readonly logger?: KafkaLogger;
  /** TLS and SASL (see `resolveKafkaSecurity`); default: a PLAINTEXT connection. */
  readonly security?: KafkaSecurity;
  /** Further kafkajs client settings (retry, timeouts; a socket factory is replaced when a bootstrap broker is IPv6). */
  readonly tuning?: Omit<KafkaConfig, "brokers" | "clientId" | "logCreator" | "logLevel" | "ssl" | "sasl">;
}

/** Keep-alive of broker connections, as kafkajs's own socket factory sets it. */
const KEEP_ALIVE_MS = 60_000;

/**
 * The kafkajs client configuration every service builds its client from: the brokers (parsed by
 * the one broker-list parser), TLS and SASL, kafkajs's lines into the logger. kafkajs takes the
 * host of a bootstrap entry as the text before its first `:`, so an IPv6 address would break it:
 * such an entry is handed to kafkajs under a placeholder name that the socket factory turns back
 * into the address (the brokers' own advertised addresses reach it split already and need nothing).
 */
export function kafkaClientConfig(options: KafkaClientOptions): KafkaConfig {
  const addresses = parseBrokerList(options.brokers).map((entry) => parseBrokerAddress(entry) as BrokerAddress);
  const aliases = new Map<string, string>();
  const brokers = addresses.map((address, index) => {
    if (isIP(address.host) !== 6) return formatBrokerAddress(address);
    const alias = `ipv6-bootstrap-${index}.invalid`;
    aliases.set(alias, address.host);
    return `${alias}:${address.port}`;
  });
  const logger = options.logger ?? silentLogger;
  return {
    ...options.tuning,
    clientId: options.clientId,
    brokers,
    ...(options.security?.ssl === undefined ? {} : { ssl: options.security.ssl }),
    ...(options.security?.sasl === undefined ? {} : { sasl: options.security.sasl }),
    logLevel: kafkaLogLevelFor(logger),
    logCreator: kafkaLogCreator(logger),
    ...(aliases.size === 0 ? {} : { socketFactory: aliasingSocketFactory(aliases) }),
  };
}

/** kafkajs's socket factory, with placeholder host names turned back into their IPv6 addresses. */
function aliasingSocketFactory(aliases: ReadonlyMap<string, string>): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const real = aliases.get(host) ?? host;
    const socket = ssl
      ? connectTls({ host: real, port, ...(isIP(real) === 0 ? { servername: real } : {}), ...ssl }, onConnect)
      : connectTcp({ host: real, port }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_MS);
    return socket;
  };
}

/** Options of {@link verifyKafkaAccess}. */
export interface VerifyKafkaAccessOptions extends KafkaClientOptions {
  /** How long to keep trying while the cluster is unreachable (not while it refuses); default 30 s. */
  readonly timeoutMs?: number;
}

/**
 * Connects once to the cluster the way the service will (TLS, SASL) and lists its topics. A
 * refusal (SASL login, TLS verification either way, ACLs) throws its coded error at once: kafkajs
 * would otherwise retry a TLS failure as a connection error again and again. An unreachable
 * cluster is tried again with a growing pause (0.25 s doubling up to 5 s) until `timeoutMs`,
 * then `KAFKA_UNREACHABLE`.
 */
export async function verifyKafkaAccess(options: VerifyKafkaAccessOptions): Promise<void> {
  const logger = options.logger ?? silentLogger;
  // The probe's own lines stay out of the log: each failed attempt is logged once below.
  const kafka = new Kafka(kafkaClientConfig({ ...options, logger: silentLogger, tuning: { ...options.tuning, retry: { retries: 0 } } }));
  const deadline = performance.now() + (options.timeoutMs ?? 30_000);
  const described = describeKafkaSecurity(options.security);
  for (let attempt = 1; ; attempt++) {
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.listTopics();
      logger.info({ brokers: options.brokers, security: described }, "kafka: connected");
      return;
    } catch (error) {
      const refused = kafkaAccessFailure(error, { sasl: options.security?.sasl as SASLOptions | undefined });
      if (refused !== undefined) throw refused;
      const left = deadline - performance.now();
      const said = error instanceof Error ? error.message : String(error);
      if (left <= 0) {
        throw new KafkaContractError(
          "KAFKA_UNREACHABLE",
          `Kafka at ${options.brokers.join(",")} did not answer (TLS ${String(described.tls)}, SASL ${String(described.sasl)}): ${said}` +
            " (a TLS listener answers nothing to a client without TLS: check KAFKA_SSL)",
          { cause: error },
        );
      }
      const pauseMs = Math.min(5_000, 250 * 2 ** Math.min(attempt - 1, 5), left);
      logger.warn({ brokers: options.brokers, attempt, error: said, retryInMs: Math.round(pauseMs) }, "kafka: not reachable yet");
      await new Promise((done) => setTimeout(done, pauseMs));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
