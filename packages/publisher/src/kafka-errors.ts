import { kafkaAccessFailure } from "@usage-ledger/kafka-contract";

/**
 * What the sender does after a failed send attempt:
 * - `retry`: the same batch again on the same producer (kafkajs rolled its sequence numbers back,
 *   so a copy the broker already wrote is recognised as a duplicate);
 * - `reset`: the producer's idempotence state disagrees with the broker's: a new producer, then retry;
 * - `duplicate`: the broker says it already holds the batch: delivered, offsets unknown;
 * - `fatal`: the broker refuses the batch for good (too large, not authorised, ...).
 */
export type SendErrorKind = "retry" | "reset" | "duplicate" | "fatal";

/** Broker errors that mean the producer id or its sequence numbers are out of step with the broker. */
const PRODUCER_STATE_ERRORS = new Set([
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "UNKNOWN_PRODUCER_ID",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
]);

/** kafkajs errors about the network or the cluster's state, worth another try whatever their flag says. */
const TRANSIENT_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSBrokerNotFound",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSTopicMetadataNotLoaded",
  "KafkaJSLockTimeout",
  "KafkaJSNumberOfRetriesExceeded",
]);

interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly type?: unknown;
  readonly retriable?: unknown;
  readonly cause?: unknown;
}

/** The error and its causes, outermost first (at most 10 deep). */
function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = error;
  while (typeof current === "object" && current !== null && chain.length < 10 && !chain.includes(current)) {
    chain.push(current);
    current = (current as ErrorLike).cause;
  }
  return chain;
}

/** Sorts a failed kafkajs `send` or `connect` into a {@link SendErrorKind}. */
export function classifySendError(error: unknown): SendErrorKind {
  // A refused login, TLS handshake or ACL stays refused: failing at once names it (kafka-contract).
  if (kafkaAccessFailure(error) !== undefined) return "fatal";
  const chain = errorChain(error);
  if (chain.some((entry) => typeof entry.type === "string" && PRODUCER_STATE_ERRORS.has(entry.type))) return "reset";
  if (chain.some((entry) => entry.type === "DUPLICATE_SEQUENCE_NUMBER")) return "duplicate";
  // A producer that is (being) disconnected cannot send, but a new one can.
  if (chain.some((entry) => typeof entry.message === "string" && /The producer is disconnect/.test(entry.message))) return "reset";
  if (chain.some((entry) => typeof entry.name === "string" && TRANSIENT_NAMES.has(entry.name))) return "retry";
  // The innermost error is what the broker or the network said; wrappers only add context.
  return chain[chain.length - 1]?.retriable === true ? "retry" : "fatal";
}

/** A one-line description of an error and its causes, for messages and logs. */
export function describeError(error: unknown): string {
  const chain = errorChain(error);
  if (chain.length === 0) return String(error);
  const parts: string[] = [];
  for (const entry of chain) {
    const name = typeof entry.name === "string" ? entry.name : "Error";
    const type = typeof entry.type === "string" ? ` ${entry.type}` : "";
    const message = typeof entry.message === "string" ? entry.message : "";
    const text = `${name}${type}: ${message}`;
    if (!parts.includes(text)) parts.push(text);
  }
  return parts.join(" <- ");
}
