import { freePort } from "@usage-ledger/kafka-broker";
import { RequestStatistics, ZERO_TIMESTAMP, compareTimestamps, parseRfc3339, statisticsKey } from "@usage-ledger/statistics";
import type { UsageRecord } from "@usage-ledger/statistics";
import { encodeUsageRecord } from "@usage-ledger/wire";
import { Kafka } from "kafkajs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { usageRecord } from "../test/support/records";
import { createMonotonicClock } from "./clock";
import { PublisherError, isPublisherError } from "./errors";
import { createPublisher } from "./publisher";
import type { UsagePublisher } from "./publisher";
import type { DeliveryReport, PublishAck, PublisherStats } from "./types";
import type { PublisherOptions } from "./options";
import { maskSource } from "./source-mask";

/**
 * These tests need no broker: they cover what happens at the call, and what happens when no broker
 * answers at all (an address where nothing listens: every connection attempt is refused).
 */
let nowhere: string[];
beforeAll(async () => {
  nowhere = [`127.0.0.1:${String(await freePort())}`];
});

const opened: UsagePublisher[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((publisher) => publisher.close({ deadlineMs: 0 })));
});

function publisherFor(options: Omit<PublisherOptions, "brokers"> = {}): UsagePublisher {
  const publisher = createPublisher({ brokers: nowhere, topic: "unit-test-topic", ...options });
  opened.push(publisher);
  return publisher;
}

/** Settles every promise, then gives each one's error (or undefined when it resolved). */
async function errorsOf(promises: ReadonlyArray<Promise<PublishAck>>): Promise<Array<PublisherError | undefined>> {
  const outcomes = await Promise.allSettled(promises);
  return outcomes.map((outcome) => (outcome.status === "rejected" ? (outcome.reason as PublisherError) : undefined));
}

/** published = acknowledged + failed + buffered + waiting. */
function expectBalanced(stats: PublisherStats): void {
  expect(stats.published).toBe(stats.acknowledged + stats.failed + stats.buffered + stats.waiting);
}

describe("createPublisher options", () => {
  const cases: Array<[string, unknown]> = [
    ["neither brokers nor kafka", {}],
    ["both brokers and kafka", { brokers: ["127.0.0.1:1"], kafka: new Kafka({ brokers: ["127.0.0.1:1"] }) }],
    ["an empty broker list", { brokers: [] }],
    ["kafkaConfig with a kafka client", { kafka: new Kafka({ brokers: ["127.0.0.1:1"] }), kafkaConfig: { ssl: true } }],
    ["a topic Kafka would refuse", { brokers: ["127.0.0.1:1"], topic: "usage records" }],
    ["an unknown whenFull", { brokers: ["127.0.0.1:1"], whenFull: "drop" }],
    ["batch.maxRecords 0", { brokers: ["127.0.0.1:1"], batch: { maxRecords: 0 } }],
    ["a negative lingerMs", { brokers: ["127.0.0.1:1"], batch: { lingerMs: -1 } }],
    ["a fractional deliveryTimeoutMs", { brokers: ["127.0.0.1:1"], deliveryTimeoutMs: 1.5 }],
    ["maxBufferedRecords 0", { brokers: ["127.0.0.1:1"], maxBufferedRecords: 0 }],
    ["a clock that is not a function", { brokers: ["127.0.0.1:1"], clock: 5 }],
    ["maskSources that is neither a boolean nor { salt }", { brokers: ["127.0.0.1:1"], maskSources: "yes" }],
    ["a maskSources salt that is not a string", { brokers: ["127.0.0.1:1"], maskSources: { salt: 5 } }],
  ];
  it.each(cases)("refuses %s with PUBLISHER_INVALID_OPTIONS", (_name, options) => {
    expect(() => createPublisher(options as PublisherOptions)).toThrow(
      expect.objectContaining({ code: "PUBLISHER_INVALID_OPTIONS", retryable: false }),
    );
  });

  it("takes a kafkajs client instead of brokers", async () => {
    const publisher = createPublisher({ kafka: new Kafka({ brokers: nowhere }), topic: "t" });
    expect(publisher.topic).toBe("t");
    expect(await publisher.close()).toEqual({ delivered: 0, failed: [] });
  });
});

describe("publish() at the call", () => {
  const tokens = { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedTokens: 0, totalTokens: 2 };
  const invalid: Array<[string, unknown, string | undefined]> = [
    ["a negative token count", usageRecord({ tokens: { ...tokens, inputTokens: -1 } }), "WIRE_NEGATIVE_TOKENS"],
    ["an API key over 4 KiB", usageRecord({ apiKey: "k".repeat(4097) }), "WIRE_STRING_TOO_LONG"],
    [
      "nanos out of range",
      usageRecord({ timestamp: { epochSeconds: 0, nanos: 1_000_000_000, offsetSeconds: 0 } }),
      "WIRE_TIMESTAMP_OUT_OF_RANGE",
    ],
    ["a token count beyond 2^53", usageRecord({ tokens: { ...tokens, totalTokens: 2 ** 60 } }), "WIRE_UNSAFE_INTEGER"],
    ["a missing field", { ...usageRecord(), failed: undefined }, "WIRE_INVALID_FIELD"],
    ["null", null, undefined],
    ["a string", "record", undefined],
  ];
  it.each(invalid)("rejects %s with PUBLISHER_INVALID_RECORD and sends nothing", async (_name, record, wireCode) => {
    const publisher = publisherFor();
    const result = publisher.publish(record as UsageRecord);
    // Counted as refused before the call returned: the record never entered the buffer.
    expect(publisher.stats()).toMatchObject({ published: 0, rejected: 1, buffered: 0 });
    const error = (await errorsOf([result]))[0];
    expect(error).toBeInstanceOf(PublisherError);
    expect(error).toMatchObject({ code: "PUBLISHER_INVALID_RECORD", retryable: false, wireCode });
    if (wireCode !== undefined) expect(error?.message).toContain(wireCode);
  });

  it("refuses records once close() was called, and close() twice is one close", async () => {
    const publisher = publisherFor();
    const first = publisher.close();
    expect(publisher.close()).toBe(first);
    expect(await first).toEqual({ delivered: 0, failed: [] });
    const [error] = await errorsOf([publisher.publish(usageRecord())]);
    expect(isPublisherError(error, "PUBLISHER_CLOSED")).toBe(true);
    await expect(publisher.connect()).rejects.toMatchObject({ code: "PUBLISHER_CLOSED" });
  });

  it("refuses a bad close() deadline and stays open", async () => {
    const publisher = publisherFor();
    await expect(publisher.close({ deadlineMs: -1 })).rejects.toMatchObject({ code: "PUBLISHER_INVALID_OPTIONS" });
    await expect(publisher.close({ deadlineMs: Number.NaN })).rejects.toMatchObject({ code: "PUBLISHER_INVALID_OPTIONS" });
    expect(publisher.stats()).toMatchObject({ rejected: 0 });
    const pending = publisher.publish(usageRecord());
    expect(publisher.stats()).toMatchObject({ published: 1 });
    const report = await publisher.close({ deadlineMs: 0 });
    expect(report.failed.map((failure) => failure.error.code)).toEqual(["PUBLISHER_CLOSE_TIMEOUT"]);
    await expect(pending).rejects.toBe(report.failed[0]?.error);
  });

  it("connect() rejects with PUBLISHER_BROKER_UNAVAILABLE when no broker answers", async () => {
    const publisher = publisherFor();
    await expect(publisher.connect()).rejects.toMatchObject({ code: "PUBLISHER_BROKER_UNAVAILABLE", retryable: true });
  });
});

describe("stamping and keys", () => {
  it("stamps records without a timestamp (or with Go's zero time) from the clock, keeps given ones, adds the node id", async () => {
    let hr = 0n;
    const clock = createMonotonicClock({ hrtime: () => (hr += 7n), nowMillis: () => 1_768_027_619_000 });
    const publisher = publisherFor({ clock, nodeId: "node-7", batch: { lingerMs: 600_000 } });
    const given = parseRfc3339("2026-01-10T14:46:59.000000001-05:00");
    const records: UsageRecord[] = [
      usageRecord({ apiKey: "a" }),
      usageRecord({ apiKey: "", endpoint: "GET /v1/models" }),
      usageRecord({ apiKey: "", endpoint: "", timestamp: given }),
      usageRecord({ apiKey: "", endpoint: "", provider: "", timestamp: ZERO_TIMESTAMP, extra: { nodeId: "bridge-1", requestId: "r1" } }),
    ];
    const results = records.map((record) => publisher.publish(record));
    const report: DeliveryReport = await publisher.close({ deadlineMs: 0 });
    await errorsOf(results);
    const published = report.failed.map((failure) => failure.record);
    expect(published.map((record) => record.timestamp)).toEqual([
      { epochSeconds: 1_768_027_619, nanos: 7, offsetSeconds: 0 },
      { epochSeconds: 1_768_027_619, nanos: 14, offsetSeconds: 0 },
      given,
      { epochSeconds: 1_768_027_619, nanos: 21, offsetSeconds: 0 },
    ]);
    expect(published.map((record) => record.extra)).toEqual([
      { nodeId: "node-7" },
      { nodeId: "node-7" },
      { nodeId: "node-7" },
      { nodeId: "bridge-1", requestId: "r1" },
    ]);
    expect(published.map(statisticsKey)).toEqual(["a", "GET /v1/models", "openai", "unknown"]);
    // The caller's objects are left alone.
    expect(records[0]?.timestamp).toBeUndefined();
    // Every reported record is a valid record the wire encodes.
    expect(published.every((record) => encodeUsageRecord(record).length > 0)).toBe(true);
  });

  it("masks sources that look like API keys with maskSources (salted too), and leaves them alone without it", async () => {
    const key = "sk-ant-api03-Jx9aQ2LmZr7Yt4Vb8Nc1Kd6Hs3Pw5Fg0Ue2Io7Ay";
    const sources = async (options: Omit<PublisherOptions, "brokers">): Promise<string[]> => {
      const publisher = publisherFor({ ...options, batch: { lingerMs: 600_000 } });
      const results = [key, "alice@example.com"].map((source) => publisher.publish(usageRecord({ source })));
      const report = await publisher.close({ deadlineMs: 0 });
      await errorsOf(results);
      return report.failed.map((failure) => failure.record.source);
    };
    expect(await sources({})).toEqual([key, "alice@example.com"]);
    expect(await sources({ maskSources: false })).toEqual([key, "alice@example.com"]);
    expect(await sources({ maskSources: true })).toEqual([maskSource(key), "alice@example.com"]);
    expect(await sources({ maskSources: { salt: "s" } })).toEqual([maskSource(key, { salt: "s" }), "alice@example.com"]);
  });

  it("keys by the statistics key the core resolves (API key, else endpoint, else provider, else unknown)", () => {
    const records = [
      usageRecord({ apiKey: "sk-1" }),
      usageRecord({ apiKey: "", endpoint: "POST /v1/messages" }),
      usageRecord({ apiKey: "", endpoint: "", provider: "gemini" }),
      usageRecord({ apiKey: "", endpoint: "", provider: "" }),
      usageRecord({ apiKey: " spaced ", endpoint: "" }),
    ];
    const statistics = new RequestStatistics();
    for (const record of records) statistics.record({ ...record, timestamp: ZERO_TIMESTAMP });
    expect(new Set(records.map(statisticsKey))).toEqual(new Set(Object.keys(statistics.snapshot().apis)));
  });
});

describe("backpressure and failures without a broker", () => {
  it("whenFull 'reject': refuses records beyond maxBufferedRecords at the call; close() reports each accepted one", async () => {
    const publisher = publisherFor({ maxBufferedRecords: 3, whenFull: "reject", batch: { lingerMs: 600_000 } });
    const records = Array.from({ length: 10 }, (_, index) => usageRecord({ latencyMs: index }));
    const results = records.map((record) => publisher.publish(record));
    expect(publisher.stats()).toMatchObject({ published: 3, rejected: 7, buffered: 3, waiting: 0 });
    const report = await publisher.close({ deadlineMs: 0 });
    const errors = await errorsOf(results);
    expect(errors.slice(3).map((error) => [error?.code, error?.retryable])).toEqual(
      Array.from({ length: 7 }, () => ["PUBLISHER_BUFFER_FULL", true]),
    );
    expect(report.delivered).toBe(0);
    expect(report.failed.map((failure) => failure.record.latencyMs)).toEqual([0, 1, 2]);
    expect(report.failed.map((failure) => failure.error)).toEqual(errors.slice(0, 3));
    expect(report.failed.every((failure) => failure.error.code === "PUBLISHER_CLOSE_TIMEOUT" && failure.error.retryable)).toBe(true);
    expect(publisher.stats()).toMatchObject({ published: 3, rejected: 7, acknowledged: 0, failed: 3, buffered: 0, waiting: 0 });
  });

  it("whenFull 'wait': holds records beyond maxBufferedRecords in call order; close({deadlineMs}) reports every one", async () => {
    const publisher = publisherFor({ maxBufferedRecords: 3, whenFull: "wait", batch: { lingerMs: 600_000 } });
    const records = Array.from({ length: 10 }, (_, index) => usageRecord({ latencyMs: index }));
    const results = records.map((record) => publisher.publish(record));
    const stats = publisher.stats();
    expect(stats).toMatchObject({ published: 10, rejected: 0, buffered: 3, waiting: 7 });
    expectBalanced(stats);
    const report = await publisher.close({ deadlineMs: 0 });
    const errors = await errorsOf(results);
    expect(report.delivered).toBe(0);
    expect(report.failed.map((failure) => failure.record.latencyMs)).toEqual(records.map((record) => record.latencyMs));
    expect(report.failed.map((failure) => failure.error)).toEqual(errors);
    expect(report.failed.map((failure) => failure.error.code)).toEqual(Array.from({ length: 10 }, () => "PUBLISHER_CLOSE_TIMEOUT"));
    // The 7 waiting records were never sent; the buffered batch was on the wire when the deadline came.
    expect(report.failed.slice(3).every((failure) => failure.error.message.includes("never sent"))).toBe(true);
    expect(publisher.stats()).toMatchObject({ published: 10, failed: 10, buffered: 0, waiting: 0 });
  });

  it("fails records that are not acknowledged within deliveryTimeoutMs with PUBLISHER_DELIVERY_TIMEOUT, after retrying", async () => {
    const publisher = publisherFor({ deliveryTimeoutMs: 300, maxBufferedRecords: 2, whenFull: "wait", retryBackoffMs: 10 });
    const results = Array.from({ length: 5 }, (_, index) => publisher.publish(usageRecord({ latencyMs: index })));
    const errors = await errorsOf(results);
    expect(errors.map((error) => [error?.code, error?.retryable])).toEqual(
      Array.from({ length: 5 }, () => ["PUBLISHER_DELIVERY_TIMEOUT", true]),
    );
    // The first batch was tried (the last error is in the message); the waiting ones were never sent.
    expect(errors[0]?.message).toMatch(/ECONNREFUSED|Connection error/);
    expect(errors.slice(2).every((error) => error?.message.includes("never sent"))).toBe(true);
    expect(publisher.stats()).toMatchObject({ published: 5, failed: 5, acknowledged: 0, buffered: 0, waiting: 0 });
    expect(await publisher.flush()).toEqual({ delivered: 0, failed: [] });
    expect(await publisher.close()).toEqual({ delivered: 0, failed: [] });
  });

  it("flush() reports each record pending at the call", async () => {
    const publisher = publisherFor({ deliveryTimeoutMs: 200, retryBackoffMs: 10 });
    const first = publisher.publish(usageRecord({ latencyMs: 1 }));
    const report = await publisher.flush();
    expect(report.delivered).toBe(0);
    expect(report.failed.map((failure) => [failure.record.latencyMs, failure.error.code])).toEqual([[1, "PUBLISHER_DELIVERY_TIMEOUT"]]);
    await expect(first).rejects.toBe(report.failed[0]?.error);
    const stamped = report.failed[0]?.record.timestamp;
    expect(stamped !== undefined && compareTimestamps(stamped, ZERO_TIMESTAMP) > 0).toBe(true);
  });
});
