import type { UsageRecord } from "@usage-ledger/statistics";
import type { PublisherError } from "./errors";

/** What `publish()` resolves with once the broker has acknowledged the record. */
export interface PublishAck {
  /** The partition the record went to (all records of one statistics key go to the same one). */
  readonly partition: number;
  /** Its offset in that partition (decimal text, as kafkajs gives offsets); undefined if the broker did not say. */
  readonly offset: string | undefined;
  /** The message key: the record's statistics key. */
  readonly key: string;
  /** The record as published: with the timestamp (and node id) the publisher stamped into it. */
  readonly record: UsageRecord;
}

/** A record that could not be delivered, as reported by `flush()` and `close()`. */
export interface DeliveryFailure {
  /** The record as published (with its stamped timestamp: publishing it again is deduplicated downstream). */
  readonly record: UsageRecord;
  readonly error: PublisherError;
}

/** The outcome of every record that was pending when `flush()` or `close()` was called. */
export interface DeliveryReport {
  /** How many of them the broker acknowledged. */
  readonly delivered: number;
  /** Each one that was not acknowledged, in publish order. */
  readonly failed: readonly DeliveryFailure[];
}

/** Options of {@link UsagePublisher.close}. */
export interface CloseOptions {
  /**
   * Stop trying after this many milliseconds: every record not acknowledged by then is reported
   * as failed (`PUBLISHER_CLOSE_TIMEOUT`), except that a request already on the wire is awaited.
   * Default: no deadline (each record still ends by its delivery timeout).
   */
  readonly deadlineMs?: number;
}

/** Counters of a publisher (see README.md, "Counters"). */
export interface PublisherStats {
  /** Records accepted by `publish()` (valid, and buffered or waiting for space). */
  readonly published: number;
  /** `publish()` calls refused at the call: invalid record, buffer full ('reject'), closed. */
  readonly rejected: number;
  /** Records the broker acknowledged. */
  readonly acknowledged: number;
  /** Accepted records that failed (delivery timeout, close deadline, refused by the broker). */
  readonly failed: number;
  /** Accepted records held in the buffer, not yet acknowledged or failed. */
  readonly buffered: number;
  /** Accepted records waiting for space in the buffer ('wait'). published = acknowledged + failed + buffered + waiting. */
  readonly waiting: number;
  /** Produce requests the broker acknowledged (each carries one or more batches). */
  readonly batches: number;
  /** Send attempts that failed and were tried again. */
  readonly retries: number;
}
