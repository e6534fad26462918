import type { RequestStatistics } from "@usage-ledger/statistics";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { restorePartition, SnapshotWriter } from "../src/index";
import { fillStatistics } from "./support/statistics";
import { readRaw, snapshotFixture, type SnapshotFixture } from "./support/kafka";

const brokers = inject("kafkaBrokers");
const DETAILS = 1_000_000;
const SLICE = 100_000;

/** Rows of `actual` that differ from `expected` (strings compared as text, every column), slice by slice. */
function differingRows(expected: RequestStatistics, actual: RequestStatistics): number {
  let differing = Math.abs(expected.detailCount - actual.detailCount);
  const count = Math.min(expected.detailCount, actual.detailCount);
  for (let from = 0; from < count; from += SLICE) {
    const to = Math.min(count, from + SLICE);
    const a = expected.exportDetails(from, to);
    const b = actual.exportDetails(from, to);
    for (let i = 0; i < to - from; i++) {
      const same =
        a.strings[a.api[i] ?? 0] === b.strings[b.api[i] ?? 0] &&
        a.strings[a.model[i] ?? 0] === b.strings[b.model[i] ?? 0] &&
        a.strings[a.source[i] ?? 0] === b.strings[b.source[i] ?? 0] &&
        a.strings[a.authIndex[i] ?? 0] === b.strings[b.authIndex[i] ?? 0] &&
        a.epochSeconds[i] === b.epochSeconds[i] &&
        a.nanos[i] === b.nanos[i] &&
        a.offsetSeconds[i] === b.offsetSeconds[i] &&
        a.failed[i] === b.failed[i] &&
        a.latencyMs[i] === b.latencyMs[i] &&
        a.inputTokens[i] === b.inputTokens[i] &&
        a.outputTokens[i] === b.outputTokens[i] &&
        a.reasoningTokens[i] === b.reasoningTokens[i] &&
        a.cachedTokens[i] === b.cachedTokens[i] &&
        a.totalTokens[i] === b.totalTokens[i];
      if (!same) differing += 1;
    }
  }
  return differing;
}

describe("a state of 1,000,000 details", () => {
  let fx: SnapshotFixture;
  beforeAll(async () => {
    fx = await snapshotFixture(brokers, { maxMessageBytes: 1_048_576 });
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  it("is written and restored with no record over max.message.bytes; an incremental generation of 1,000 costs in proportion to 1,000", async () => {
    const first = await restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic: fx.sourceTopic, partition: 0 });
    const writer = SnapshotWriter.create({
      producer: fx.producer,
      snapshotTopic: fx.topic,
      sourceTopic: fx.sourceTopic,
      partition: 0,
      restored: first,
      fullEvery: 100,
    });
    await writer.claim();
    const live = fillStatistics({ count: DETAILS, seed: 500, into: first.statistics });
    expect(live.detailCount).toBe(DETAILS);

    const full = await writer.writeGeneration({ statistics: live, resumeOffset: DETAILS, full: true });
    expect(full).toMatchObject({ kind: "full", details: DETAILS, detailCount: DETAILS });
    expect(full.largestRecordBytes).toBeLessThanOrEqual(fx.topic.maxMessageBytes);
    expect(full.chunks).toBeGreaterThan(10);

    fillStatistics({ count: 1000, seed: 501, start: DETAILS, into: live });
    const incremental = await writer.writeGeneration({ statistics: live, resumeOffset: DETAILS + 1000 });
    expect(incremental).toMatchObject({ kind: "incremental", details: 1000, detailCount: DETAILS + 1000, chunks: 1 });
    expect(incremental.bytesWritten).toBeLessThan(full.bytesWritten / 100);

    // Every record on the topic, as read back, within the topic's limit (and chunks actually filled toward it).
    const records = await readRaw(fx.kafka, fx.topic.name);
    const sizes = records.map((record) => Buffer.byteLength(record.key) + (record.value?.length ?? 0));
    const largest = Math.max(...sizes);
    expect(largest).toBeLessThanOrEqual(fx.topic.maxMessageBytes);
    expect(largest).toBeGreaterThan(fx.topic.maxMessageBytes / 2);
    expect(largest).toBe(Math.max(full.largestRecordBytes, incremental.largestRecordBytes));

    const restored = await restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic: fx.sourceTopic, partition: 0 });
    expect(restored).toMatchObject({ found: true, detailCount: DETAILS + 1000, resumeOffset: String(DETAILS + 1000), rejected: [] });
    expect(restored.statistics.totals()).toEqual(live.totals());
    expect(differingRows(live, restored.statistics)).toBe(0);
    expect(JSON.stringify(restored.statistics.snapshot({ details: false }))).toBe(JSON.stringify(live.snapshot({ details: false })));

    console.log(
      `[snapshots] 1M details: full generation ${String(full.bytesWritten)} bytes in ${String(full.chunks)} chunks ` +
        `(${(full.bytesWritten / DETAILS).toFixed(1)} bytes/detail, largest record ${String(largest)} bytes), ${full.durationMs.toFixed(0)} ms; ` +
        `incremental of 1,000: ${String(incremental.bytesWritten)} bytes, ${incremental.durationMs.toFixed(0)} ms; ` +
        `restore: ${String(restored.bytesRead)} bytes, ${restored.durationMs.toFixed(0)} ms`,
    );
  });
});
