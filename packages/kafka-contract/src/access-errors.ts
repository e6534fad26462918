import type { SASLOptions } from "kafkajs";
import { KafkaContractError } from "./errors";

/**
 * Turns what kafkajs reports when a cluster refuses this client (SASL login, TLS verification
 * either way, ACLs) into one coded error that names the cause and the setting to change. Anything
 * else (a broker that is down, a timeout) is not an access failure: undefined.
 */

/** Node's codes for a broker certificate this client does not trust (or that is not the broker's). */
const UNTRUSTED_CERTIFICATE = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "INVALID_CA",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** TLS alerts a broker sends when it refuses this client's certificate (or the lack of one). */
const REFUSED_BY_BROKER =
  /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE|ACCESS_DENIED)|alert (certificate required|bad certificate|unknown ca|certificate unknown|handshake failure)/i;

/** This client speaks TLS to a listener that does not. */
const NOT_TLS = /WRONG_VERSION_NUMBER|wrong version number|packet length too long/i;

interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly type?: unknown;
  readonly cause?: unknown;
  readonly originalError?: unknown;
}

/** The error and its causes, outermost first (at most 10 deep). */
function chainOf(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = error;
  while (typeof current === "object" && current !== null && chain.length < 10 && !chain.includes(current)) {
    chain.push(current);
    const next = current as ErrorLike;
    current = next.cause ?? next.originalError;
  }
  return chain;
}

const text = (value: unknown): string => (typeof value === "string" ? value : "");

/** What the client was configured with, to name it in the message. */
export interface AccessContext {
  readonly sasl?: SASLOptions | undefined;
}

/** The coded error for a refusal by the cluster, or undefined when `error` is something else. */
export function kafkaAccessFailure(error: unknown, context: AccessContext = {}): KafkaContractError | undefined {
  if (error instanceof KafkaContractError)
    return error.code === "KAFKA_UNREACHABLE" || error.code === "KAFKA_BROKERS_INVALID" ? undefined : error;
  const chain = chainOf(error);
  const said = chain.map((entry) => text(entry.message)).find((message) => message !== "") ?? String(error);
  const sasl = context.sasl;
  if (chain.some((entry) => entry.name === "KafkaJSSASLAuthenticationError" || entry.type === "SASL_AUTHENTICATION_FAILED")) {
    const who = sasl !== undefined && "username" in sasl ? ` of user ${JSON.stringify(sasl.username)}` : "";
    const how = sasl === undefined ? "" : ` ${sasl.mechanism.toUpperCase()}`;
    return new KafkaContractError(
      "KAFKA_AUTH_FAILED",
      `Kafka refused the SASL${how} login${who} (wrong user name or password, or no such user for this mechanism): ` +
        `check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM [${said}]`,
      { cause: error },
    );
  }
  if (chain.some((entry) => entry.type === "UNSUPPORTED_SASL_MECHANISM" || entry.type === "ILLEGAL_SASL_STATE")) {
    return new KafkaContractError(
      "KAFKA_AUTH_FAILED",
      `the Kafka listener does not offer SASL ${sasl?.mechanism.toUpperCase() ?? "authentication"} this way: check KAFKA_SASL_MECHANISM and that the address is the SASL listener [${said}]`,
      { cause: error },
    );
  }
  const codes = chain.map((entry) => text(entry.code)).filter((code) => code !== "");
  const untrusted = codes.find((code) => UNTRUSTED_CERTIFICATE.has(code));
  if (untrusted !== undefined) {
    const hint =
      untrusted === "ERR_TLS_CERT_ALTNAME_INVALID"
        ? "the certificate is not for this host name: connect by a name it lists, or set KAFKA_SSL_SERVERNAME"
        : untrusted.startsWith("CERT_") && untrusted !== "CERT_UNTRUSTED" && untrusted !== "CERT_REJECTED"
          ? "the broker's certificate is outside its validity period"
          : "set KAFKA_SSL_CA_FILE to the CA certificate that signed the broker's certificate";
    return new KafkaContractError(
      "KAFKA_TLS_UNTRUSTED",
      `the Kafka broker's TLS certificate is not trusted (${untrusted}): ${hint} [${said}]`,
      {
        cause: error,
      },
    );
  }
  const tlsText = [...codes, ...chain.map((entry) => text(entry.message))].join(" ");
  if (REFUSED_BY_BROKER.test(tlsText)) {
    return new KafkaContractError(
      "KAFKA_TLS_REFUSED",
      `the Kafka broker refused this client's TLS handshake: it requires a client certificate it trusts ` +
        `(KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE, signed by a CA the broker trusts) [${said}]`,
      { cause: error },
    );
  }
  if (NOT_TLS.test(tlsText)) {
    return new KafkaContractError(
      "KAFKA_TLS_REFUSED",
      `the Kafka listener does not speak TLS: use its TLS (SSL or SASL_SSL) address, or turn TLS off (KAFKA_SSL=false) for a PLAINTEXT listener [${said}]`,
      { cause: error },
    );
  }
  const denied = chain.map((entry) => text(entry.type)).find((type) => type.endsWith("_AUTHORIZATION_FAILED"));
  if (denied !== undefined) {
    const what = denied.replace("_AUTHORIZATION_FAILED", "").toLowerCase().replace("_", " ");
    return new KafkaContractError(
      "KAFKA_NOT_AUTHORIZED",
      `Kafka denied this client's principal access to the ${what} (${denied}): grant it the ACLs the ledger needs (packages/kafka-contract/README.md, "ACLs") [${said}]`,
      { cause: error },
    );
  }
  return undefined;
}
