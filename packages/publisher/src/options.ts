import { DEFAULT_TOPICS } from "@usage-ledger/kafka-contract";
import type { Clock } from "@usage-ledger/statistics";
import type { Kafka, KafkaConfig } from "kafkajs";
import { PublisherError } from "./errors";
import type { PublisherLogger } from "./logger";
import type { SourceMaskOptions } from "./source-mask";

/** What `publish()` does when the buffer holds `maxBufferedRecords` records (see README.md, "Backpressure"). */
export type WhenFull = "wait" | "reject";

/** Batching limits (see README.md, "Batching"). */
export interface BatchOptions {
  /** A batch holds at most this many records; default 1,000. */
  readonly maxRecords?: number;
  /**
   * A batch holds at most about this many bytes (values + keys + 24 bytes of record overhead
   * each); default 524,288 (512 KiB), well under the broker's 1 MiB message limit.
   */
  readonly maxBytes?: number;
  /** A batch that is not full goes this many milliseconds after its first record; default 5. */
  readonly lingerMs?: number;
}

/** Options of {@link createPublisher}. Give exactly one of `brokers` and `kafka`. */
export interface PublisherOptions {
  /** Bootstrap brokers (`host:port`); the publisher builds its own kafkajs client. */
  readonly brokers?: readonly string[];
  /** A kafkajs client to take the producer from (its own logCreator and retry settings apply to it). */
  readonly kafka?: Kafka;
  /** Further kafkajs client settings (ssl, sasl, ...) when the publisher builds the client from `brokers`. */
  readonly kafkaConfig?: Omit<KafkaConfig, "brokers" | "clientId" | "logCreator" | "logLevel">;
  /** Topic to publish to; default `usage.records`. */
  readonly topic?: string;
  /** kafkajs client id when the publisher builds the client; default `usage-ledger-publisher`. */
  readonly clientId?: string;
  /** Where the publisher and kafkajs log (pino-compatible); default: nowhere. */
  readonly logger?: PublisherLogger;
  readonly batch?: BatchOptions;
  /**
   * At most this many records are held (accepted by `publish()` and not yet acknowledged or
   * failed); default 20,000.
   */
  readonly maxBufferedRecords?: number;
  /**
   * When several batches are ready at once (records came faster than the broker answered), they
   * share one produce request of at most this many bytes; default 1,000,000 (below the broker's
   * 1 MiB limit per partition batch). A single batch bigger than this still goes, alone.
   */
  readonly maxRequestBytes?: number;
  /** `wait` (default): `publish()` waits for space. `reject`: it rejects with `PUBLISHER_BUFFER_FULL`. */
  readonly whenFull?: WhenFull;
  /**
   * A record not acknowledged this many milliseconds after its `publish()` call fails with
   * `PUBLISHER_DELIVERY_TIMEOUT` (Java's `delivery.timeout.ms`); default 120,000.
   */
  readonly deliveryTimeoutMs?: number;
  /** First pause between two send attempts of a batch; doubles per attempt; default 100 ms. */
  readonly retryBackoffMs?: number;
  /** Longest pause between two send attempts; default 5,000 ms. */
  readonly maxRetryBackoffMs?: number;
  /** How long the broker may take to replicate a batch before it answers (acks -1); default 30,000 ms. */
  readonly ackTimeoutMs?: number;
  /** Stamped into `extra.nodeId` of records that carry none. */
  readonly nodeId?: string;
  /**
   * Stamps records that carry no timestamp; must return strictly increasing instants. Default: the
   * process-wide {@link processClock} (UTC, nanoseconds, see `createMonotonicClock`).
   */
  readonly clock?: Clock;
  /**
   * Masks `source` values that look like upstream API keys before a record is encoded (see
   * README.md, "Masking sources"): `true`, or `{ salt }` for a keyed fingerprint; default off.
   */
  readonly maskSources?: boolean | SourceMaskOptions;
}

/** {@link PublisherOptions} with every default filled in. */
export interface ResolvedOptions {
  readonly topic: string;
  readonly clientId: string;
  readonly maxRecords: number;
  readonly maxBytes: number;
  readonly lingerMs: number;
  readonly maxBufferedRecords: number;
  readonly maxRequestBytes: number;
  readonly whenFull: WhenFull;
  readonly deliveryTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly maxRetryBackoffMs: number;
  readonly ackTimeoutMs: number;
  readonly nodeId: string | undefined;
  /** Masking of API-key sources; undefined = off. */
  readonly sourceMask: SourceMaskOptions | undefined;
}

/** The default topic of usage records. */
export const DEFAULT_TOPIC = DEFAULT_TOPICS.records;

/** Checks the options and fills in the defaults; throws `PUBLISHER_INVALID_OPTIONS`. */
export function resolveOptions(options: PublisherOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) invalid("options must be an object");
  const hasBrokers = options.brokers !== undefined;
  if (hasBrokers === (options.kafka !== undefined)) invalid("give exactly one of `brokers` and `kafka`");
  if (hasBrokers) {
    const brokers = options.brokers;
    if (!Array.isArray(brokers) || brokers.length === 0 || !brokers.every((broker) => typeof broker === "string" && broker !== "")) {
      invalid("`brokers` must be a non-empty list of host:port strings");
    }
  } else if (options.kafkaConfig !== undefined) {
    invalid("`kafkaConfig` applies only with `brokers` (configure your own `kafka` client instead)");
  }
  const topic = options.topic ?? DEFAULT_TOPIC;
  if (typeof topic !== "string" || !/^[A-Za-z0-9._-]{1,249}$/.test(topic))
    invalid(`\`topic\` is not a valid Kafka topic name: ${String(topic)}`);
  const whenFull = options.whenFull ?? "wait";
  if (whenFull !== "wait" && whenFull !== "reject") invalid(`\`whenFull\` must be 'wait' or 'reject', got ${String(whenFull)}`);
  if (options.nodeId !== undefined && typeof options.nodeId !== "string") invalid("`nodeId` must be a string");
  if (options.clock !== undefined && typeof options.clock !== "function") invalid("`clock` must be a function");
  const mask = options.maskSources;
  if (mask !== undefined && typeof mask !== "boolean" && (typeof mask !== "object" || mask === null)) {
    invalid("`maskSources` must be a boolean or { salt }");
  }
  if (typeof mask === "object" && mask.salt !== undefined && typeof mask.salt !== "string") invalid("`maskSources.salt` must be a string");
  const batch = options.batch ?? {};
  return {
    topic,
    clientId: options.clientId ?? "usage-ledger-publisher",
    maxRecords: integer("batch.maxRecords", batch.maxRecords, 1_000, 1),
    maxBytes: integer("batch.maxBytes", batch.maxBytes, 512 * 1024, 1),
    lingerMs: integer("batch.lingerMs", batch.lingerMs, 5, 0),
    maxBufferedRecords: integer("maxBufferedRecords", options.maxBufferedRecords, 20_000, 1),
    maxRequestBytes: integer("maxRequestBytes", options.maxRequestBytes, 1_000_000, 1),
    whenFull,
    deliveryTimeoutMs: integer("deliveryTimeoutMs", options.deliveryTimeoutMs, 120_000, 1),
    retryBackoffMs: integer("retryBackoffMs", options.retryBackoffMs, 100, 1),
    maxRetryBackoffMs: integer("maxRetryBackoffMs", options.maxRetryBackoffMs, 5_000, 1),
    ackTimeoutMs: integer("ackTimeoutMs", options.ackTimeoutMs, 30_000, 1),
    nodeId: options.nodeId,
    sourceMask: mask === true ? {} : mask === false || mask === undefined ? undefined : { ...mask },
  };
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    invalid(`\`${name}\` must be an integer >= ${String(min)}, got ${String(value)}`);
  }
  return value;
}

function invalid(message: string): never {
  throw new PublisherError("PUBLISHER_INVALID_OPTIONS", `invalid publisher options: ${message}`);
}
