import { describe, expect, it } from "vitest";
import kafkajs from "kafkajs";
import { kafkaAccessFailure } from "./access-errors";
import { KafkaContractError } from "./errors";

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } = kafkajs;

/** kafkajs's error classes take (message, metadata) at run time, whatever their typings say. */
function make(errorClass: unknown, ...args: unknown[]): Error {
  return new (errorClass as new (...given: unknown[]) => Error)(...args);
}

/** A connection error as kafkajs makes one from a socket error with `code`. */
function socketError(code: string, message: string): Error {
  return new KafkaJSConnectionError(`Connection error: ${message}`, { broker: "b:1", code });
}

describe("kafkaAccessFailure", () => {
  it("names a refused SASL login with the user and the settings to check, also wrapped in retries", () => {
    const login = make(KafkaJSSASLAuthenticationError, "SASL SCRAM SHA512 authentication failed: invalid credentials");
    const failure = kafkaAccessFailure(make(KafkaJSNumberOfRetriesExceeded, login, { retryCount: 0, retryTime: 1, cause: login }), {
      sasl: { mechanism: "scram-sha-512", username: "ledger", password: "hunter2" },
    });
    expect(failure).toBeInstanceOf(KafkaContractError);
    expect(failure?.code).toBe("KAFKA_AUTH_FAILED");
    expect(failure?.retryable).toBe(false);
    expect(failure?.message).toContain('SASL SCRAM-SHA-512 login of user "ledger"');
    expect(failure?.message).toContain("KAFKA_SASL_PASSWORD");
    expect(failure?.message).not.toContain("hunter2");
  });

  it("names an unsupported mechanism", () => {
    const error = Object.assign(new KafkaJSProtocolError("not enabled"), { type: "UNSUPPORTED_SASL_MECHANISM" });
    expect(kafkaAccessFailure(error, { sasl: { mechanism: "plain", username: "u", password: "p" } })?.message).toContain("SASL PLAIN");
  });

  it("tells an untrusted broker certificate apart, with the hint that fits its code", () => {
    for (const code of ["SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "DEPTH_ZERO_SELF_SIGNED_CERT"]) {
      const failure = kafkaAccessFailure(socketError(code, "self-signed certificate in certificate chain"));
      expect(failure?.code, code).toBe("KAFKA_TLS_UNTRUSTED");
      expect(failure?.message).toContain(`(${code})`);
      expect(failure?.message).toContain("KAFKA_SSL_CA_FILE");
    }
    expect(kafkaAccessFailure(socketError("ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match"))?.message).toContain(
      "KAFKA_SSL_SERVERNAME",
    );
    expect(kafkaAccessFailure(socketError("CERT_HAS_EXPIRED", "certificate has expired"))?.message).toContain("validity period");
  });

  it("tells a broker that refuses this client's certificate, and a listener without TLS", () => {
    const refused = kafkaAccessFailure(socketError("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "tlsv13 alert certificate required"));
    expect(refused?.code).toBe("KAFKA_TLS_REFUSED");
    expect(refused?.message).toContain("KAFKA_SSL_CERT_FILE");
    const plain = kafkaAccessFailure(socketError("ERR_SSL_WRONG_VERSION_NUMBER", "wrong version number"));
    expect(plain?.code).toBe("KAFKA_TLS_REFUSED");
    expect(plain?.message).toContain("does not speak TLS");
  });

  it("names a missing ACL", () => {
    const error = Object.assign(new KafkaJSProtocolError("Not authorized to access topics"), { type: "TOPIC_AUTHORIZATION_FAILED" });
    const failure = kafkaAccessFailure(error);
    expect(failure?.code).toBe("KAFKA_NOT_AUTHORIZED");
    expect(failure?.message).toContain("access to the topic (TOPIC_AUTHORIZATION_FAILED)");
  });

  it("leaves everything else alone: a broker that is down is not refusing", () => {
    expect(kafkaAccessFailure(socketError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:9"))).toBeUndefined();
    expect(kafkaAccessFailure(new Error("anything"))).toBeUndefined();
    expect(kafkaAccessFailure(new KafkaContractError("KAFKA_UNREACHABLE", "down"))).toBeUndefined();
    const coded = new KafkaContractError("KAFKA_AUTH_FAILED", "x");
    expect(kafkaAccessFailure(coded)).toBe(coded);
  });
});
