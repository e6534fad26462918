import { isZeroTimestamp, statisticsKey } from "@usage-ledger/statistics";
import type { Clock, UsageRecord } from "@usage-ledger/statistics";
import { encodeUsageRecord, isWireError } from "@usage-ledger/wire";
import { Kafka, Partitioners } from "kafkajs";
import { kafkaAccessFailure, kafkaClientConfig, silentLogger } from "@usage-ledger/kafka-contract";
import type { ICustomPartitioner, KafkaConfig, Producer, RecordMetadata, SASLOptions } from "kafkajs";
import { BatchAccumulator } from "./batch-accumulator";
import { processClock } from "./clock";
import { PublisherError } from "./errors";
import { Fifo } from "./fifo";
import { classifySendError, describeError } from "./kafka-errors";
import type { PublisherLogger } from "./logger";
import { resolveOptions } from "./options";
import type { PublisherOptions, ResolvedOptions } from "./options";
import { PendingRecord } from "./pending-record";
import type { SettleListener } from "./pending-record";
import { maskSource } from "./source-mask";
import type { CloseOptions, DeliveryReport, PublishAck, PublisherStats } from "./types";

/** Bytes a record adds to a Kafka record batch beyond its key and value (varint lengths, deltas, attributes). */
const RECORD_OVERHEAD_BYTES = 24;

/** kafkajs's own retries inside one send attempt: short, so that deadlines are checked often. */
const KAFKAJS_RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000, factor: 0.2, multiplier: 2 };

const ignore = (): undefined => undefined;

/**
 * Publishes usage records to Kafka: validates and encodes each with packages/wire, stamps a
 * strictly increasing nanosecond timestamp on records without one, keys it by its statistics key,
 * batches by size and time, and sends through an idempotent producer (acks -1, one request in
 * flight), retrying retryable failures until each record's delivery timeout. See README.md.
 */
export class UsagePublisher {
  /** The topic records go to. */
  readonly topic: string;
  private readonly options: ResolvedOptions;
  private readonly kafka: Kafka;
  private readonly logger: PublisherLogger;
  private readonly clock: Clock;
  private readonly accumulator: BatchAccumulator<PendingRecord>;
  private readonly waiters = new Fifo<PendingRecord>();
  private readonly unsettled = new Set<PendingRecord>();
  /** The partition kafkajs's partitioner chose for each message of the batch in flight. */
  private readonly partitionOf = new WeakMap<object, number>();
  private readonly partitioner: ICustomPartitioner;
  /** The SASL login of the client the publisher built (named in access errors). */
  private readonly sasl: SASLOptions | undefined;
  private state: "open" | "closing" | "closed" = "open";
  private closing: Promise<DeliveryReport> | undefined;
  /** A close deadline passed: nothing more is sent. */
  private aborted = false;
  private flushing = 0;
  private sending = false;
  private producerReady: Promise<Producer> | undefined;
  private wakePause: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];
  private buffered = 0;
  private counters = { published: 0, rejected: 0, acknowledged: 0, failed: 0, batches: 0, retries: 0 };

  constructor(options: PublisherOptions) {
    this.options = resolveOptions(options);
    this.topic = this.options.topic;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? processClock;
    this.kafka = options.kafka ?? new Kafka(this.clientConfig(options));
    this.sasl = typeof options.kafkaConfig?.sasl === "object" ? (options.kafkaConfig.sasl as SASLOptions) : undefined;
    const { maxRecords, maxBytes, lingerMs } = this.options;
    this.accumulator = new BatchAccumulator<PendingRecord>({ maxRecords, maxBytes, lingerMs }, () => this.kick());
    const partitionOf = this.partitionOf;
    this.partitioner = () => {
      const inner = Partitioners.DefaultPartitioner();
      return (args) => {
        const partition = inner(args);
        partitionOf.set(args.message, partition);
        return partition;
      };
    };
  }

  /** The kafkajs client of `brokers` (packages/kafka-contract: TLS and SASL from `kafkaConfig`, logs into the logger). */
  private clientConfig(options: PublisherOptions): KafkaConfig {
    const { ssl, sasl, ...tuning } = options.kafkaConfig ?? {};
    return kafkaClientConfig({
      clientId: this.options.clientId,
      brokers: options.brokers ?? [],
      logger: this.logger,
      security: { ...(ssl === undefined ? {} : { ssl }), ...(sasl === undefined ? {} : { sasl }) },
      tuning: { retry: KAFKAJS_RETRY, ...tuning },
    });
  }

  /**
   * Publishes one record. The returned promise resolves with {@link PublishAck} once the broker has
   * acknowledged it, or rejects with a {@link PublisherError}. Never throws: a record refused at the
   * call (`PUBLISHER_INVALID_RECORD`, `PUBLISHER_BUFFER_FULL` with whenFull 'reject',
   * `PUBLISHER_CLOSED`) gets an already-rejected promise and is not sent. With whenFull 'wait' and a
   * full buffer, the record waits (in call order) for space before it is batched. The promise
   * never causes an unhandled rejection, but callers should await it or use `flush()`/`close()`.
   */
  publish(record: UsageRecord): Promise<PublishAck> {
    return this.accept(record);
  }

  /**
   * Sends every pending record without waiting for the linger time and resolves, once each
   * record pending at the call is acknowledged or has failed, with their {@link DeliveryReport}.
   * Never rejects.
   */
  async flush(): Promise<DeliveryReport> {
    const targets = [...this.unsettled];
    this.flushing += 1;
    try {
      const report = this.watch(targets);
      this.kick();
      return await report;
    } finally {
      this.flushing -= 1;
    }
  }

  /**
   * Stops accepting records (`publish()` then rejects with `PUBLISHER_CLOSED`), delivers every
   * pending record, disconnects, and resolves with the {@link DeliveryReport} of every record that
   * was pending: nothing is dropped without being reported. With `deadlineMs`, records still
   * unacknowledged at the deadline fail with `PUBLISHER_CLOSE_TIMEOUT` (a request already on the wire
   * is awaited first, as kafkajs cannot cancel it). Never rejects, except with
   * `PUBLISHER_INVALID_OPTIONS` for a bad `deadlineMs` (the publisher then stays open). Calling it
   * again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<DeliveryReport> {
    const deadlineMs = options.deadlineMs;
    if (deadlineMs !== undefined && (typeof deadlineMs !== "number" || !(deadlineMs >= 0) || !Number.isFinite(deadlineMs))) {
      return Promise.reject(
        new PublisherError("PUBLISHER_INVALID_OPTIONS", `close(): deadlineMs must be a finite number >= 0, got ${String(deadlineMs)}`),
      );
    }
    this.closing ??= this.shutdown(deadlineMs);
    return this.closing;
  }

  /**
   * Connects the producer now instead of at the first send, so that a wrong address shows at
   * start-up. Rejects with `PUBLISHER_BROKER_UNAVAILABLE` (retryable) or `PUBLISHER_CLOSED`.
   */
  async connect(): Promise<void> {
    if (this.state !== "open") throw new PublisherError("PUBLISHER_CLOSED", "the publisher is closed");
    try {
      await this.connectedProducer();
    } catch (error) {
      const denied = kafkaAccessFailure(error, { sasl: this.sasl });
      if (denied !== undefined) throw new PublisherError("PUBLISHER_ACCESS_DENIED", denied.message, { cause: denied });
      throw new PublisherError("PUBLISHER_BROKER_UNAVAILABLE", `cannot connect to Kafka: ${describeError(error)}`, { cause: error });
    }
  }

  /** The publisher's counters. */
  stats(): PublisherStats {
    return { ...this.counters, buffered: this.buffered, waiting: this.waiters.size };
  }

  private accept(record: UsageRecord): Promise<PublishAck> {
    if (this.state !== "open") return this.refuse(new PublisherError("PUBLISHER_CLOSED", "the publisher is closed"));
    let entry: PendingRecord;
    try {
      entry = this.prepare(record);
    } catch (error) {
      return this.refuse(
        error instanceof PublisherError
          ? error
          : new PublisherError("PUBLISHER_INVALID_RECORD", `cannot prepare the record: ${describeError(error)}`, { cause: error }),
      );
    }
    const full = this.waiters.size > 0 || this.buffered >= this.options.maxBufferedRecords;
    if (full && this.options.whenFull === "reject") {
      this.kick();
      return this.refuse(
        new PublisherError(
          "PUBLISHER_BUFFER_FULL",
          `the buffer holds maxBufferedRecords (${String(this.options.maxBufferedRecords)}) records`,
        ),
      );
    }
    this.counters.published += 1;
    this.unsettled.add(entry);
    if (full) {
      this.waiters.push(entry);
    } else {
      this.admit(entry);
    }
    if (this.urgent()) this.kick();
    return entry.promise;
  }

  private refuse(error: PublisherError): Promise<never> {
    this.counters.rejected += 1;
    const refused = Promise.reject(error);
    void refused.catch(ignore);
    return refused;
  }

  /** Stamps, validates and encodes a record; throws `PUBLISHER_INVALID_RECORD`. */
  private prepare(record: UsageRecord): PendingRecord {
    if (typeof record !== "object" || record === null) {
      throw new PublisherError(
        "PUBLISHER_INVALID_RECORD",
        `invalid usage record: not an object (${record === null ? "null" : typeof record})`,
      );
    }
    let stamped = record;
    const timestamp = record.timestamp;
    // Go's zero time means "not given" to the seed, which would then use the aggregator's clock:
    // a replay would count the record at another instant, so it is stamped here instead.
    if (timestamp === undefined || (typeof timestamp === "object" && timestamp !== null && isZeroTimestamp(timestamp))) {
      stamped = { ...stamped, timestamp: this.clock() };
    }
    const sourceMask = this.options.sourceMask;
    if (sourceMask !== undefined && typeof record.source === "string") {
      const masked = maskSource(record.source, sourceMask);
      if (masked !== record.source) stamped = { ...stamped, source: masked };
    }
    const nodeId = this.options.nodeId;
    const extra = record.extra;
    if (nodeId !== undefined && (extra === undefined || (typeof extra === "object" && extra !== null && extra.nodeId === undefined))) {
      stamped = { ...stamped, extra: { ...extra, nodeId } };
    }
    let value: Buffer;
    try {
      value = encodeUsageRecord(stamped);
    } catch (error) {
      if (isWireError(error)) {
        throw new PublisherError("PUBLISHER_INVALID_RECORD", `invalid usage record: ${error.code}: ${error.message}`, {
          cause: error,
          wireCode: error.code,
        });
      }
      throw new PublisherError("PUBLISHER_INVALID_RECORD", `invalid usage record: ${describeError(error)}`, { cause: error });
    }
    const key = statisticsKey(stamped);
    const size = value.length + Buffer.byteLength(key) + RECORD_OVERHEAD_BYTES;
    return new PendingRecord(stamped, { key, value }, size, performance.now() + this.options.deliveryTimeoutMs);
  }

  private admit(entry: PendingRecord): void {
    entry.state = "buffered";
    this.buffered += 1;
    this.accumulator.add(entry, entry.size);
  }

  /** Moves waiting records into the buffer while there is space. */
  private admitWaiters(): void {
    while (this.waiters.size > 0 && this.buffered < this.options.maxBufferedRecords) {
      const entry = this.waiters.shift();
      if (entry === undefined) break;
      if (performance.now() >= entry.deadline) {
        this.settle(entry, this.deliveryTimeout(undefined, false));
      } else {
        this.admit(entry);
      }
    }
  }

  /** A batch should go without waiting for its linger time. */
  private urgent(): boolean {
    return this.flushing > 0 || this.state !== "open" || this.waiters.size > 0 || this.buffered >= this.options.maxBufferedRecords;
  }

  /** Starts sending the next ready batch unless a send is running (one request in flight). */
  private kick(): void {
    if (this.sending || this.aborted) return;
    const urgent = this.urgent();
    const first = this.accumulator.take(urgent);
    if (first === undefined) return;
    this.sending = true;
    // Batches that became ready while the last request was on the wire share one request.
    const entries = [...first.items];
    let bytes = first.bytes;
    for (let next = this.accumulator.take(urgent, this.options.maxRequestBytes - bytes); next !== undefined;) {
      for (const entry of next.items) entries.push(entry);
      bytes += next.bytes;
      next = this.accumulator.take(urgent, this.options.maxRequestBytes - bytes);
    }
    void this.deliver(entries)
      .catch((error: unknown) => {
        this.fail(
          entries,
          new PublisherError("PUBLISHER_SEND_FAILED", `internal error while sending: ${describeError(error)}`, { cause: error }),
        );
      })
      .finally(() => {
        this.sending = false;
        this.kick();
        if (!this.sending) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const wake of waiters) wake();
        }
      });
  }

  /** Sends one batch until the broker acknowledges it, it fails for good, or its time is up. */
  private async deliver(entries: readonly PendingRecord[]): Promise<void> {
    const messages = entries.map((entry) => entry.message);
    let deadline = Number.POSITIVE_INFINITY;
    for (const entry of entries) deadline = Math.min(deadline, entry.deadline);
    let attempts = 0;
    let lastError: unknown;
    for (;;) {
      if (!entries.some((entry) => entry.state !== "done")) return;
      if (this.aborted) {
        this.fail(entries, this.closeTimeout(attempts > 0, lastError));
        return;
      }
      if (performance.now() >= deadline) {
        this.fail(entries, this.deliveryTimeout(lastError, attempts > 0));
        // The broker may hold the last attempt: its sequence numbers must not be reused for other records.
        if (attempts > 0) await this.resetProducer("a batch was given up");
        return;
      }
      let metadata: RecordMetadata[] | undefined;
      let failure: unknown;
      try {
        const producer = await this.connectedProducer();
        metadata = await producer.send({ topic: this.topic, acks: -1, timeout: this.options.ackTimeoutMs, messages });
      } catch (error) {
        failure = error ?? new Error("send failed");
      }
      if (metadata !== undefined) {
        this.acknowledge(entries, metadata);
        return;
      }
      lastError = failure;
      attempts += 1;
      if (this.aborted) {
        this.fail(entries, this.closeTimeout(true, failure));
        return;
      }
      const kind = classifySendError(failure);
      switch (kind) {
        case "duplicate":
          this.acknowledge(entries, []);
          return;
        case "fatal": {
          const denied = kafkaAccessFailure(failure, { sasl: this.sasl });
          this.fail(
            entries,
            denied === undefined
              ? new PublisherError("PUBLISHER_SEND_FAILED", `the broker refused the batch: ${describeError(failure)}`, { cause: failure })
              : new PublisherError("PUBLISHER_ACCESS_DENIED", denied.message, { cause: denied }),
          );
          await this.resetProducer("a batch was refused");
          return;
        }
        case "reset":
          await this.resetProducer(describeError(failure));
          break;
        case "retry":
          break;
      }
      this.counters.retries += 1;
      const backoff = Math.min(this.options.maxRetryBackoffMs, this.options.retryBackoffMs * 2 ** Math.min(attempts - 1, 20));
      this.logger.warn(
        { topic: this.topic, records: entries.length, attempt: attempts, kind, error: describeError(failure), backoffMs: backoff },
        "publisher: send failed, retrying",
      );
      await this.pause(Math.max(0, Math.min(backoff, deadline - performance.now())));
    }
  }

  private acknowledge(entries: readonly PendingRecord[], metadata: readonly RecordMetadata[]): void {
    const base = new Map<number, number>();
    for (const entry of metadata) {
      const offset = entry.baseOffset === undefined ? Number.NaN : Number(entry.baseOffset);
      // Offsets beyond 2^53 would lose digits as numbers; none is that high in practice, and such a batch reports none.
      if (entry.topicName === this.topic && Number.isSafeInteger(offset + entries.length) && offset >= 0) base.set(entry.partition, offset);
    }
    const next = new Map<number, number>();
    for (const entry of entries) {
      const partition = this.partitionOf.get(entry.message) ?? -1;
      const first = base.get(partition);
      let offset: string | undefined;
      if (first !== undefined) {
        const index = next.get(partition) ?? 0;
        next.set(partition, index + 1);
        offset = String(first + index);
      }
      this.settle(entry, undefined, { partition, offset, key: entry.message.key, record: entry.record });
    }
    this.counters.batches += 1;
  }

  private fail(entries: readonly PendingRecord[], error: PublisherError): void {
    let count = 0;
    for (const entry of entries) {
      if (entry.state === "done") continue;
      this.settle(entry, error);
      count += 1;
    }
    if (count > 0)
      this.logger.error({ topic: this.topic, records: count, code: error.code, error: error.message }, "publisher: records not delivered");
  }

  private settle(entry: PendingRecord, error: PublisherError | undefined, ack?: PublishAck): void {
    if (entry.state === "done") return;
    const wasBuffered = entry.state === "buffered";
    this.unsettled.delete(entry);
    if (error === undefined && ack !== undefined) {
      this.counters.acknowledged += 1;
      entry.succeed(ack);
    } else {
      this.counters.failed += 1;
      entry.fail(error ?? new PublisherError("PUBLISHER_SEND_FAILED", "no acknowledgement"));
    }
    if (wasBuffered) {
      this.buffered -= 1;
      this.admitWaiters();
    }
  }

  /** Resolves with the report of `targets` once each is settled. */
  private watch(targets: readonly PendingRecord[]): Promise<DeliveryReport> {
    return new Promise((resolve) => {
      let remaining = targets.length;
      let delivered = 0;
      const failures = new Map<PendingRecord, PublisherError>();
      const finish = (): void => {
        const failed = targets.flatMap((entry) => {
          const error = failures.get(entry);
          return error === undefined ? [] : [{ record: entry.record, error }];
        });
        resolve({ delivered, failed });
      };
      if (remaining === 0) {
        finish();
        return;
      }
      const listener: SettleListener = (entry, error) => {
        if (error === undefined) delivered += 1;
        else failures.set(entry, error);
        remaining -= 1;
        if (remaining === 0) finish();
      };
      for (const entry of targets) (entry.listeners ??= []).push(listener);
    });
  }

  private async shutdown(deadlineMs: number | undefined): Promise<DeliveryReport> {
    this.state = "closing";
    const report = this.watch([...this.unsettled]);
    this.kick();
    if (deadlineMs !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<"expired">((resolve) => {
        timer = setTimeout(() => resolve("expired"), deadlineMs);
      });
      const first = await Promise.race([report.then(() => "done" as const), expired]);
      clearTimeout(timer);
      if (first === "expired") this.abort();
    }
    const result = await report;
    await this.idle();
    this.accumulator.dispose();
    await this.resetProducer("closed");
    this.state = "closed";
    this.logger.info({ topic: this.topic, delivered: result.delivered, failed: result.failed.length }, "publisher: closed");
    return result;
  }

  /** The close deadline passed: fail every record that is not on the wire right now. */
  private abort(): void {
    this.aborted = true;
    const error = this.closeTimeout(false, undefined);
    const never = [...this.waiters.drain(), ...this.accumulator.drain()];
    for (const entry of never) this.settle(entry, error);
    if (never.length > 0)
      this.logger.error({ topic: this.topic, records: never.length, code: error.code }, "publisher: records not delivered");
    // A batch between two attempts ends at once; one on the wire is awaited (kafkajs cannot cancel it).
    this.wakePause?.();
  }

  private idle(): Promise<void> {
    if (!this.sending) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sleeps, unless a close deadline interrupts. */
  private pause(ms: number): Promise<void> {
    if (this.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakePause = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakePause = done;
    });
  }

  private connectedProducer(): Promise<Producer> {
    if (this.producerReady !== undefined) return this.producerReady;
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: this.partitioner,
      retry: KAFKAJS_RETRY,
    });
    const ready: Promise<Producer> = producer.connect().then(
      () => {
        this.logger.info({ topic: this.topic }, "publisher: producer connected");
        return producer;
      },
      async (error: unknown) => {
        if (this.producerReady === ready) this.producerReady = undefined;
        await producer.disconnect().catch(ignore);
        throw error;
      },
    );
    this.producerReady = ready;
    return ready;
  }

  /** Drops the producer (a new one, with a new producer id, is made on the next send). */
  private async resetProducer(reason: string): Promise<void> {
    const ready = this.producerReady;
    this.producerReady = undefined;
    if (ready === undefined) return;
    let producer: Producer;
    try {
      producer = await ready;
    } catch {
      return;
    }
    try {
      await producer.disconnect();
      this.logger.debug({ topic: this.topic, reason }, "publisher: producer disconnected");
    } catch (error) {
      this.logger.warn({ topic: this.topic, reason, error: describeError(error) }, "publisher: producer disconnect failed");
    }
  }

  private deliveryTimeout(cause: unknown, sent: boolean): PublisherError {
    const what = sent ? "was not acknowledged (the broker may still hold a copy of the last attempt)" : "was never sent";
    const last = cause === undefined ? "" : `; last error: ${describeError(cause)}`;
    return new PublisherError(
      "PUBLISHER_DELIVERY_TIMEOUT",
      `the record ${what} within deliveryTimeoutMs (${String(this.options.deliveryTimeoutMs)} ms)${last}`,
      {
        cause,
      },
    );
  }

  private closeTimeout(sent: boolean, cause: unknown): PublisherError {
    const what = sent ? "was not acknowledged (the broker may still hold a copy of the last attempt)" : "was never sent";
    const last = cause === undefined ? "" : `; last error: ${describeError(cause)}`;
    return new PublisherError("PUBLISHER_CLOSE_TIMEOUT", `close() deadline passed: the record ${what}${last}`, { cause });
  }
}

/** Creates a {@link UsagePublisher}; throws `PUBLISHER_INVALID_OPTIONS` for bad options. */
export function createPublisher(options: PublisherOptions): UsagePublisher {
  return new UsagePublisher(options);
}
