import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import pino from "pino";
import { AGGREGATOR_ERROR_CODES, AggregatorError, MIN_SNAPSHOT_INTERVAL_MS, createAggregator } from "./aggregator";
import type { AggregatorOptions } from "./aggregator";
import type { Producer, ProducerRecord } from "kafkajs";
import { DeadLetterSink } from "./ingest/dead-letter";
import { COST_METRIC } from "./insights/web-dashboard";
import { METRIC_NAMES } from "./metrics";

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

const options: AggregatorOptions = {
  brokers: ["127.0.0.1:9"],
  clientId: "c",
  groupId: "g",
  instanceId: "i",
  recordsTopic: "usage.records",
  dlqTopic: "usage.records.dlq",
  snapshotsTopic: "usage.snapshots",
  partitions: 6,
  snapshotIntervalMs: 1_000,
  snapshotEveryRecords: 1_000,
  fullSnapshotEvery: 10,
  logger: pino({ level: "silent" }),
};

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof AggregatorError ? error.code : "not an AggregatorError";
  }
  return undefined;
}

describe("createAggregator", () => {
  it("refuses options it cannot run with, naming each problem", () => {
    expect(codeOf(() => createAggregator({ ...options, brokers: [] }))).toBe("AGGREGATOR_INVALID_OPTIONS");
    expect(codeOf(() => createAggregator({ ...options, partitions: 0 }))).toBe("AGGREGATOR_INVALID_OPTIONS");
    expect(codeOf(() => createAggregator({ ...options, dlqTopic: options.recordsTopic }))).toBe("AGGREGATOR_INVALID_OPTIONS");
    expect(() => createAggregator({ ...options, groupId: "", snapshotIntervalMs: 1.5 })).toThrow(/groupId.*snapshotIntervalMs/);
    // The same floor as the main command's LEDGER_SNAPSHOT_INTERVAL_MS (config.ts takes it from here).
    expect(() => createAggregator({ ...options, snapshotIntervalMs: MIN_SNAPSHOT_INTERVAL_MS - 1 })).toThrow(
      /snapshotIntervalMs must be an integer >= 100/,
    );
    expect(codeOf(() => createAggregator({ ...options, snapshotIntervalMs: MIN_SNAPSHOT_INTERVAL_MS }))).toBeUndefined();
  });

  it("connects nothing before start: it owns nothing, is not ready, and refuses imports", async () => {
    const aggregator = createAggregator(options);
    expect(aggregator.ownedPartitions()).toEqual([]);
    expect(aggregator.readiness()).toEqual({ ready: false, partitions: [] });
    expect(aggregator.progress()).toMatchObject({ applied: 0, duplicates: 0, dlq: 0, replayed: 0, lag: 0, partitions: [], restores: [] });
    await expect(
      aggregator.importSnapshot({ kind: "parsed-snapshot", apiNames: [], details: undefined as never, totals: undefined as never }),
    ).rejects.toMatchObject({
      code: "AGGREGATOR_NOT_STARTED",
    });
    await aggregator.stop();
    await expect(aggregator.start()).rejects.toMatchObject({ code: "AGGREGATOR_STOPPED" });
  });
});

describe("services/aggregator/README.md", () => {
  it("documents exactly the aggregator error codes", () => {
    const documented = [...readme.matchAll(/^\| `(AGGREGATOR_[A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual([...AGGREGATOR_ERROR_CODES].sort());
  });

  it("documents exactly the metrics and the dead-letter headers the aggregator writes", async () => {
    const metrics = [...readme.matchAll(/^\| `(usage_ledger_[a-z_]+)` \|/gm)].map((match) => match[1]);
    expect(metrics.sort()).toEqual([...METRIC_NAMES, COST_METRIC].sort());
    const sent: ProducerRecord[] = [];
    const producer = { send: async (record: ProducerRecord) => sent.push(record) } as unknown as Producer;
    const sink = new DeadLetterSink({ producer: () => producer, dlqTopic: "d", sourceTopic: "s" });
    await sink.send([{ key: null, value: null, headers: { original: "kept" }, partition: 1, offset: "2", reason: "R", message: "m" }]);
    const written = Object.keys(sent[0]?.messages[0]?.headers ?? {}).filter((name) => name !== "original");
    const headers = [...readme.matchAll(/^\| `(dlq\.[a-z.]+)` \|/gm)].map((match) => match[1]);
    expect(headers.sort()).toEqual(written.sort());
  });
});
