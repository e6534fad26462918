import kafkajs from "kafkajs";
import { describe, expect, it } from "vitest";
import { classifySendError, describeError } from "./kafka-errors";

const {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
} = kafkajs;

/** A broker error as kafkajs builds it from a response's error code (src/protocol/error.js). */
function protocolError(type: string, code: number, retriable: boolean): Error {
  return new KafkaJSProtocolError(Object.assign(new Error(`broker said ${type}`), { type, code, retriable }));
}

/** kafkajs's wrapper of an error its retrier does not retry (src/retry/index.js passes the cause; its typings omit it). */
function nonRetriable(cause: Error): Error {
  const Wrapper = KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: Error }) => Error;
  return new Wrapper(cause, { cause });
}

/** kafkajs's wrappers: retries exhausted on a retriable error, or a non-retriable error passed through. */
function exhausted(cause: Error): Error {
  return new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 1_000 });
}

describe("classifySendError", () => {
  it("retries a broker that is down, slow, or moving leadership", () => {
    expect(classifySendError(new KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:9092"))).toBe("retry");
    expect(classifySendError(exhausted(new KafkaJSConnectionError("Connection error: connect ECONNREFUSED")))).toBe("retry");
    expect(classifySendError(new KafkaJSRequestTimeoutError("Request Produce(key: 0, version: 7) timed out"))).toBe("retry");
    expect(classifySendError(exhausted(protocolError("NOT_LEADER_OR_FOLLOWER", 6, true)))).toBe("retry");
    expect(classifySendError(exhausted(protocolError("UNKNOWN_TOPIC_OR_PARTITION", 3, true)))).toBe("retry");
    expect(classifySendError(protocolError("REQUEST_TIMED_OUT", 7, true))).toBe("retry");
  });

  it("gives up at once on a cluster that refuses the client: TLS either way and SASL, though kafkajs would retry a TLS failure", () => {
    const tls = (code: string): Error => new KafkaJSConnectionError(`Connection error: ${code}`, { broker: "b:1", code });
    expect(classifySendError(exhausted(tls("SELF_SIGNED_CERT_IN_CHAIN")))).toBe("fatal");
    expect(classifySendError(exhausted(tls("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED")))).toBe("fatal");
    const Login = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
    expect(classifySendError(nonRetriable(new Login("SASL PLAIN authentication failed")))).toBe("fatal");
  });

  it("gives up on errors the broker will repeat", () => {
    const tooLarge = protocolError("MESSAGE_TOO_LARGE", 10, false);
    expect(classifySendError(nonRetriable(tooLarge))).toBe("fatal");
    expect(classifySendError(protocolError("TOPIC_AUTHORIZATION_FAILED", 29, false))).toBe("fatal");
    expect(classifySendError(new TypeError("x is not a function"))).toBe("fatal");
    expect(classifySendError("a string")).toBe("fatal");
  });

  it("starts a new producer when the broker's idempotence state and the producer's disagree", () => {
    const outOfOrder = protocolError("OUT_OF_ORDER_SEQUENCE_NUMBER", 45, false);
    expect(classifySendError(nonRetriable(outOfOrder))).toBe("reset");
    expect(classifySendError(protocolError("UNKNOWN_PRODUCER_ID", 59, false))).toBe("reset");
    expect(classifySendError(protocolError("INVALID_PRODUCER_EPOCH", 47, false))).toBe("reset");
    expect(classifySendError(new KafkaJSError("The producer is disconnected"))).toBe("reset");
  });

  it("takes a duplicate-sequence answer as delivered", () => {
    expect(classifySendError(protocolError("DUPLICATE_SEQUENCE_NUMBER", 46, false))).toBe("duplicate");
  });
});

describe("describeError", () => {
  it("names each error of the chain once", () => {
    const cause = new KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:1");
    expect(describeError(exhausted(cause))).toBe(
      "KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED 127.0.0.1:1 <- KafkaJSConnectionError: Connection error: connect ECONNREFUSED 127.0.0.1:1",
    );
    expect(describeError(protocolError("MESSAGE_TOO_LARGE", 10, false))).toBe(
      "KafkaJSProtocolError MESSAGE_TOO_LARGE: broker said MESSAGE_TOO_LARGE",
    );
    expect(describeError(42)).toBe("42");
  });
});
