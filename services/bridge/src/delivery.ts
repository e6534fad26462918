import { maskSource, type SourceMaskOptions } from "@usage-ledger/publisher";
import type { UsageRecord } from "@usage-ledger/statistics";
import { isWireError, parseUsageQueueMessage } from "@usage-ledger/wire";
import { backoffDelay, type BackoffPolicy, type SchedulerClock } from "./clock";
import type { DeadLetter, DeadLetterSink } from "./dead-letter";
import { BridgeError, errorMessage, isBridgeError } from "./errors";
import type { BridgeLogger } from "./logger";
import type { BridgeMetrics } from "./metrics";
import type { SpooledMessage } from "./spool/spool-format";

/**
 * The part of packages/publisher the bridge uses: `publish` resolves once the broker acknowledged
 * the record, and rejects with a coded error (`code`, `retryable`) otherwise.
 */
export interface RecordPublisher {
  publish(record: UsageRecord): Promise<unknown>;
}

/** A message that was taken from a node but could not be delivered before the bridge stopped. */
export interface UndeliveredMessage {
  readonly nodeAddress: string;
  /** The message as the node sent it. */
  readonly raw: Buffer;
  /** `BRIDGE_PUBLISH_FAILED` (its cause: the publisher's last error) or `BRIDGE_DLQ_FAILED`. */
  readonly error: BridgeError;
}

/** What one batch came to. */
export interface DeliveryResult {
  readonly published: number;
  readonly deadLettered: number;
  readonly control: number;
  /** Messages not delivered because `signal` aborted while they were still being retried. */
  readonly undelivered: readonly UndeliveredMessage[];
}

/** Everything {@link deliverBatch} needs; one per node. */
export interface DeliveryContext {
  readonly nodeAddress: string;
  /** Written into each record's `extra.nodeId`. */
  readonly nodeId: string;
  readonly mode: string;
  readonly publisher: RecordPublisher;
  readonly deadLetters: DeadLetterSink;
  readonly metrics: BridgeMetrics;
  readonly logger: BridgeLogger;
  readonly clock: SchedulerClock;
  readonly random: () => number;
  /** Backoff between retries of failed publishes and dead-letter writes. */
  readonly retry: BackoffPolicy;
  /** Masks API-key sources (packages/publisher's maskSource) before publishing; undefined = raw. */
  readonly sourceMask: SourceMaskOptions | undefined;
  /** Told `true` when a publish or dead-letter write starts being retried, `false` when the batch is through. */
  readonly onRetrying?: (retrying: boolean) => void;
}

interface Pending {
  readonly raw: Buffer;
  readonly record: UsageRecord;
  /** Why the last publish of it failed (kept for the report if the bridge stops first). */
  lastError?: unknown;
}

/**
 * Maps and publishes one batch of spooled usage-queue messages and resolves when every one of them
 * is settled: each usage record acknowledged by Kafka, each malformed message acknowledged on the
 * dead-letter topic, each control payload counted. A record without a timestamp gets the time the
 * bridge received it (kept in the spool, so a record published again after a restart keeps its
 * dedup key); a source that looks like an API key is masked first. Failed publishes and dead-letter
 * writes are retried with backoff until they succeed; only `signal` (the bridge's stop deadline)
 * ends the retries, and what is left is returned as `undelivered`, never dropped silently.
 */
export async function deliverBatch(
  context: DeliveryContext,
  messages: readonly SpooledMessage[],
  signal: AbortSignal,
): Promise<DeliveryResult> {
  const node = { node: context.nodeAddress };
  let pending: Pending[] = [];
  let letters: DeadLetter[] = [];
  let control = 0;
  for (const { raw, receivedAt } of messages) {
    try {
      const message = parseUsageQueueMessage(raw, { nodeId: context.nodeId });
      if (message.kind === "usage") {
        let record = message.record.timestamp === undefined ? { ...message.record, timestamp: receivedAt } : message.record;
        if (context.sourceMask !== undefined) {
          const source = maskSource(record.source, context.sourceMask);
          if (source !== record.source) record = { ...record, source };
        }
        pending.push({ raw, record });
      } else {
        control += 1;
      }
    } catch (error) {
      letters.push(deadLetter(context, raw, error));
    }
  }
  if (control > 0) context.metrics.control.inc(node, control);

  let published = 0;
  let deadLettered = 0;
  let failures = 0;
  for (;;) {
    const outcomes = await Promise.all(pending.map((item) => publishOne(context.publisher, item)));
    const retry: Pending[] = [];
    let acknowledged = 0;
    outcomes.forEach((outcome, index) => {
      const item = pending[index];
      if (item === undefined) return;
      if (outcome === undefined) {
        acknowledged += 1;
      } else if (isRecordRejected(outcome)) {
        letters.push(deadLetter(context, item.raw, outcome));
      } else {
        item.lastError = outcome;
        retry.push(item);
        context.metrics.failed.inc(node);
        context.logger.warn({ code: codeOf(outcome), err: errorMessage(outcome) }, "publish failed; the record will be retried");
      }
    });
    if (acknowledged > 0) context.metrics.published.inc(node, acknowledged);
    published += acknowledged;
    pending = retry;
    let dlqError: BridgeError | undefined;
    if (letters.length > 0) {
      try {
        await context.deadLetters.send(letters);
        for (const letter of letters) context.metrics.deadLettered.inc({ ...node, reason: letter.reasonCode });
        deadLettered += letters.length;
        context.logger.warn(
          { count: letters.length, reasons: [...new Set(letters.map((letter) => letter.reasonCode))] },
          "malformed usage-queue messages written to the dead-letter topic",
        );
        letters = [];
      } catch (error) {
        dlqError = isBridgeError(error) ? error : new BridgeError("BRIDGE_DLQ_FAILED", errorMessage(error), { cause: error });
        context.logger.error({ code: codeOf(error), err: errorMessage(error) }, "dead-letter write failed; it will be retried");
      }
    }
    if (pending.length === 0 && letters.length === 0) break;
    failures += 1;
    context.onRetrying?.(true);
    try {
      await context.clock.sleep(backoffDelay(context.retry, failures, context.random), signal);
    } catch {
      // The stop deadline: report what is left, each with the error that kept it back.
      context.onRetrying?.(false);
      const publishFailure = (item: Pending): BridgeError =>
        new BridgeError("BRIDGE_PUBLISH_FAILED", `not acknowledged before the stop deadline: ${errorMessage(item.lastError)}`, {
          cause: item.lastError,
        });
      const dlqFailure = dlqError ?? new BridgeError("BRIDGE_DLQ_FAILED", "dead letter not written before the stop deadline");
      return {
        published,
        deadLettered,
        control,
        undelivered: [
          ...pending.map((item) => ({ nodeAddress: context.nodeAddress, raw: item.raw, error: publishFailure(item) })),
          ...letters.map((letter) => ({ nodeAddress: context.nodeAddress, raw: letter.raw, error: dlqFailure })),
        ],
      };
    }
  }
  if (failures > 0) context.onRetrying?.(false);
  return { published, deadLettered, control, undelivered: [] };
}

/** undefined on success, else the error. */
async function publishOne(publisher: RecordPublisher, item: Pending): Promise<unknown> {
  try {
    await publisher.publish(item.record);
    return undefined;
  } catch (error) {
    return error ?? new Error("publish rejected without a reason");
  }
}

/**
 * The publisher refused the record itself (`PUBLISHER_INVALID_RECORD`: validation) or the broker
 * refused it for good (`PUBLISHER_SEND_FAILED`, e.g. too large): retrying cannot help, it is a
 * dead letter. Every other failure (broker down, delivery timeout, full buffer) is retried.
 */
function isRecordRejected(error: unknown): boolean {
  if (isWireError(error)) return true;
  const code = codeOf(error);
  return code === "PUBLISHER_INVALID_RECORD" || code === "PUBLISHER_SEND_FAILED";
}

function deadLetter(context: DeliveryContext, raw: Buffer, error: unknown): DeadLetter {
  return {
    raw: context.sourceMask === undefined ? raw : maskRawSources(raw, context.sourceMask),
    reasonCode: wireCodeOf(error) ?? codeOf(error) ?? "BRIDGE_PUBLISH_FAILED",
    reasonMessage: errorMessage(error),
    nodeAddress: context.nodeAddress,
    mode: context.mode,
  };
}

function codeOf(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") return error.code;
  return undefined;
}

/** The WIRE_* code behind a publisher's rejection (its `cause`), when there is one. */
function wireCodeOf(error: unknown): string | undefined {
  if (isWireError(error)) return error.code;
  const cause = error instanceof Error ? error.cause : undefined;
  return isWireError(cause) ? cause.code : undefined;
}

/** A JSON string literal after a `"source":` key. */
const SOURCE_FIELD = /("source"\s*:\s*)("(?:[^"\\]|\\.)*")/g;

/**
 * A dead letter's bytes with every `"source"` string that looks like an API key masked, the rest
 * byte for byte as the node sent it (a malformed payload is not parsed and re-serialised: that
 * could change the very numbers that made it malformed).
 */
export function maskRawSources(raw: Buffer, options: SourceMaskOptions): Buffer {
  const text = raw.toString("utf8");
  let changed = false;
  const masked = text.replace(SOURCE_FIELD, (whole, key: string, literal: string) => {
    let value: unknown;
    try {
      value = JSON.parse(literal);
    } catch {
      return whole;
    }
    if (typeof value !== "string") return whole;
    const replacement = maskSource(value, options);
    if (replacement === value) return whole;
    changed = true;
    return `${key}${JSON.stringify(replacement)}`;
  });
  return changed ? Buffer.from(masked, "utf8") : raw;
}
