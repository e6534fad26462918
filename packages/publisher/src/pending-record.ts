import type { UsageRecord } from "@usage-ledger/statistics";
import type { Message } from "kafkajs";
import type { PublisherError } from "./errors";
import type { PublishAck } from "./types";

/** Called once when a record is acknowledged (`error` undefined) or fails. */
export type SettleListener = (entry: PendingRecord, error: PublisherError | undefined) => void;

const ignore = (): undefined => undefined;

/** One accepted record on its way to the broker, and the promise its `publish()` call returned. */
export class PendingRecord {
  /** The record as published (stamped). */
  readonly record: UsageRecord;
  readonly message: Message & { readonly key: string; readonly value: Buffer };
  /** Estimated bytes in a Kafka record batch. */
  readonly size: number;
  /** `performance.now()` after which it fails with PUBLISHER_DELIVERY_TIMEOUT. */
  readonly deadline: number;
  /** What `publish()` returned. */
  readonly promise: Promise<PublishAck>;
  state: "waiting" | "buffered" | "done" = "waiting";
  /** Listeners of `flush()`/`close()` reports waiting for this record. */
  listeners: SettleListener[] | undefined = undefined;
  private resolvePromise: (ack: PublishAck) => void = ignore;
  private rejectPromise: (error: PublisherError) => void = ignore;

  constructor(record: UsageRecord, message: PendingRecord["message"], size: number, deadline: number) {
    this.record = record;
    this.message = message;
    this.size = size;
    this.deadline = deadline;
    this.promise = new Promise<PublishAck>((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
  }

  succeed(ack: PublishAck): void {
    this.settle(undefined);
    this.resolvePromise(ack);
  }

  fail(error: PublisherError): void {
    this.settle(error);
    // A caller that never handles the promise must not crash the process: the failure is counted,
    // logged and reported by flush()/close() instead.
    void this.promise.catch(ignore);
    this.rejectPromise(error);
  }

  private settle(error: PublisherError | undefined): void {
    this.state = "done";
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener(this, error);
  }
}
