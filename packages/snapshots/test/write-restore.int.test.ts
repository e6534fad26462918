import type { RequestStatistics } from "@usage-ledger/statistics";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { isSnapshotError, restorePartition, restorePartitions, SnapshotWriter } from "../src/index";
import { fillStatistics } from "./support/statistics";
import { snapshotFixture, type SnapshotFixture } from "./support/kafka";

const brokers = inject("kafkaBrokers");

describe("writing and restoring generations", () => {
  let fx: SnapshotFixture;
  beforeAll(async () => {
    fx = await snapshotFixture(brokers, { partitions: 2 });
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  const restore = (partition: number) =>
    restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic: fx.sourceTopic, partition, logger: fx.logger });

  it("creates the topic compacted with every setting explicit and reads max.message.bytes back", () => {
    expect(fx.topic).toMatchObject({ partitions: 2, maxMessageBytes: 1_048_576, created: true });
    expect(fx.topic.config).toEqual({
      "cleanup.policy": "compact",
      "max.message.bytes": "1048576",
      "min.compaction.lag.ms": "60000",
      "delete.retention.ms": "86400000",
      "segment.ms": "3600000",
      "segment.bytes": "67108864",
      "min.cleanable.dirty.ratio": "0.5",
    });
  });

  it("finds nothing on a fresh partition: empty statistics, resume offset 0, fence -1", async () => {
    const restored = await restore(0);
    expect(restored).toMatchObject({
      found: false,
      resumeOffset: "0",
      epoch: -1,
      generation: -1,
      detailCount: 0,
      fence: { epoch: -1, generation: -1 },
      orphanKeys: [],
      rejected: [],
    });
    expect(restored.statistics.detailCount).toBe(0);
  });

  it("restores a claim, a full generation and incremental ones exactly (snapshot JSON equal)", async () => {
    const partition = 1;
    const first = await restore(partition);
    const writer = SnapshotWriter.create({
      producer: fx.producer,
      snapshotTopic: fx.topic,
      sourceTopic: fx.sourceTopic,
      partition,
      restored: first,
      fullEvery: 3,
      logger: fx.logger,
    });
    const claim = await writer.claim();
    expect(claim).toMatchObject({ epoch: 0, generation: 0, kind: "full", chunks: 0, details: 0, detailCount: 0, resumeOffset: "0" });

    const live = first.statistics;
    const kinds: string[] = [];
    let offset = 0;
    for (let step = 0; step < 5; step++) {
      const added = step === 0 ? 20_000 : 3_000 + step;
      fillStatistics({ count: added, seed: 100 + step, start: offset, into: live });
      offset += added;
      const report = await writer.writeGeneration({ statistics: live, resumeOffset: offset });
      kinds.push(report.kind);
      expect(report).toMatchObject({ epoch: 0, generation: step + 1, detailCount: live.detailCount, resumeOffset: String(offset) });
      expect(report.details).toBe(report.kind === "full" ? live.detailCount : added);
      const restored = await restore(partition);
      expect(restored).toMatchObject({
        found: true,
        epoch: 0,
        generation: step + 1,
        resumeOffset: String(offset),
        orphanKeys: [],
        rejected: [],
      });
      expect(restored.statistics.snapshotJson()).toBe(live.snapshotJson());
    }
    // Every third generation is full (the claim was generation 0, a full one).
    expect(kinds).toEqual(["incremental", "incremental", "full", "incremental", "incremental"]);
  });

  it("restores several partitions with one read, each to its own state", async () => {
    const sourceTopic = `${fx.sourceTopic}-multi`;
    const states = new Map<number, RequestStatistics>();
    for (const partition of [0, 1, 2, 3]) {
      const restored = await restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic, partition });
      const writer = SnapshotWriter.create({ producer: fx.producer, snapshotTopic: fx.topic, sourceTopic, partition, restored });
      await writer.claim();
      fillStatistics({ count: 1000 * (partition + 1), seed: 200 + partition, start: partition * 10_000, into: restored.statistics });
      await writer.writeGeneration({ statistics: restored.statistics, resumeOffset: 77 + partition });
      states.set(partition, restored.statistics);
    }
    const restored = await restorePartitions({
      kafka: fx.kafka,
      topic: fx.topic.name,
      sourceTopic,
      partitions: [3, 0, 2, 1, 4],
      logger: fx.logger,
    });
    expect([...restored.keys()]).toEqual([3, 0, 2, 1, 4]);
    for (const [partition, state] of states) {
      const result = restored.get(partition);
      expect(result).toMatchObject({ found: true, partition, resumeOffset: String(77 + partition), epoch: 0, generation: 1 });
      expect(result?.statistics.snapshotJson()).toBe(state.snapshotJson());
    }
    expect(restored.get(4)?.found).toBe(false);
  });

  it("refuses to write before the claim, and a shrinking state without `full`", async () => {
    const sourceTopic = `${fx.sourceTopic}-rules`;
    const restored = await restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic, partition: 0 });
    const writer = SnapshotWriter.create({ producer: fx.producer, snapshotTopic: fx.topic, sourceTopic, partition: 0, restored });
    const statistics = fillStatistics({ count: 100, seed: 300 });
    await expect(writer.writeGeneration({ statistics, resumeOffset: 1 })).rejects.toSatisfy((error) =>
      isSnapshotError(error, "SNAPSHOT_NOT_CLAIMED"),
    );
    await writer.claim();
    await expect(writer.claim()).rejects.toSatisfy((error) => isSnapshotError(error, "SNAPSHOT_INVALID_OPTIONS"));
    await writer.writeGeneration({ statistics, resumeOffset: 100 });
    const smaller = fillStatistics({ count: 50, seed: 301 });
    await expect(writer.writeGeneration({ statistics: smaller, resumeOffset: 101 })).rejects.toSatisfy((error) =>
      isSnapshotError(error, "SNAPSHOT_NOT_APPEND_ONLY"),
    );
    await expect(writer.writeGeneration({ statistics, resumeOffset: -1 })).rejects.toSatisfy((error) =>
      isSnapshotError(error, "SNAPSHOT_INVALID_OPTIONS"),
    );
    const report = await writer.writeGeneration({ statistics: smaller, resumeOffset: 102, full: true });
    expect(report).toMatchObject({ kind: "full", detailCount: 50 });
    const after = await restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic, partition: 0 });
    expect(after.statistics.snapshotJson()).toBe(smaller.snapshotJson());
  });

  it("claims the state as it was at the call while records are applied (when `after` settles), and a failed claim is made good by the next generation", async () => {
    const sourceTopic = `${fx.sourceTopic}-claim`;
    const restoreClaimed = () => restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic, partition: 0, logger: fx.logger });
    const first = await restoreClaimed();
    const firstWriter = SnapshotWriter.create({
      producer: fx.producer,
      snapshotTopic: fx.topic,
      sourceTopic,
      partition: 0,
      restored: first,
    });
    await firstWriter.claim();
    fillStatistics({ count: 5_000, seed: 400, into: first.statistics });
    await firstWriter.writeGeneration({ statistics: first.statistics, resumeOffset: 5_000 });

    // The next owner claims and applies at once: its claim holds the restored state only.
    const second = await restoreClaimed();
    const atClaim = second.statistics.snapshotJson();
    const secondWriter = SnapshotWriter.create({
      producer: fx.producer,
      snapshotTopic: fx.topic,
      sourceTopic,
      partition: 0,
      restored: second,
    });
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const claiming = secondWriter.claim({ after: gate });
    fillStatistics({ count: 2_000, seed: 401, start: 5_000, into: second.statistics });
    // Nothing is written before the gate opens: a restore still finds the first owner's generation.
    expect(await restoreClaimed()).toMatchObject({ epoch: 0, resumeOffset: "5000" });
    openGate();
    expect(await claiming).toMatchObject({ epoch: 1, kind: "full", detailCount: 5_000, resumeOffset: "5000" });
    const third = await restoreClaimed();
    expect(third).toMatchObject({ found: true, epoch: 1, resumeOffset: "5000", detailCount: 5_000 });
    expect(third.statistics.snapshotJson()).toBe(atClaim);

    // A third owner whose claim fails: its next generation is written in full, and claims.
    let failManifests = true;
    const thirdWriter = SnapshotWriter.create({
      producer: fx.producer,
      snapshotTopic: fx.topic,
      sourceTopic,
      partition: 0,
      restored: third,
      beforeManifest: () => {
        if (failManifests) throw new Error("the broker went away (test)");
      },
    });
    const failing = thirdWriter.claim();
    fillStatistics({ count: 1_000, seed: 402, start: 7_000, into: third.statistics });
    await expect(failing).rejects.toSatisfy((error) => isSnapshotError(error, "SNAPSHOT_WRITE_FAILED"));
    expect((await restoreClaimed()).epoch).toBe(1);
    failManifests = false;
    const made = await thirdWriter.writeGeneration({ statistics: third.statistics, resumeOffset: 6_000 });
    expect(made).toMatchObject({ epoch: 2, kind: "full", detailCount: 6_000 });
    const last = await restoreClaimed();
    expect(last).toMatchObject({ found: true, epoch: 2, resumeOffset: "6000", detailCount: 6_000 });
    expect(last.statistics.snapshotJson()).toBe(third.statistics.snapshotJson());
    const next = await thirdWriter.writeGeneration({ statistics: third.statistics, resumeOffset: 6_000 });
    expect(next.kind).toBe("incremental");
  });

  it("gives up a claim that has not been written: nothing lands under its epoch, and the writer writes nothing more", async () => {
    const sourceTopic = `${fx.sourceTopic}-abandon`;
    const restoreIt = () => restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic, partition: 0, logger: fx.logger });
    const first = await restoreIt();
    const firstWriter = SnapshotWriter.create({
      producer: fx.producer,
      snapshotTopic: fx.topic,
      sourceTopic,
      partition: 0,
      restored: first,
    });
    await firstWriter.claim();
    fillStatistics({ count: 3_000, seed: 410, into: first.statistics });
    await firstWriter.writeGeneration({ statistics: first.statistics, resumeOffset: 3_000 });
    expect(firstWriter.abandonClaim()).toBe(false);

    const second = await restoreIt();
    const secondWriter = SnapshotWriter.create({
      producer: fx.producer,
      snapshotTopic: fx.topic,
      sourceTopic,
      partition: 0,
      restored: second,
    });
    const never = new Promise<void>(() => undefined);
    const claiming = secondWriter.claim({ after: never });
    fillStatistics({ count: 500, seed: 411, start: 3_000, into: second.statistics });
    expect(secondWriter.abandonClaim()).toBe(true);
    expect(secondWriter.abandonClaim()).toBe(true);
    await expect(claiming).rejects.toSatisfy((error) => isSnapshotError(error, "SNAPSHOT_CLAIM_ABANDONED"));
    await expect(secondWriter.writeGeneration({ statistics: second.statistics, resumeOffset: 3_500 })).rejects.toSatisfy((error) =>
      isSnapshotError(error, "SNAPSHOT_NOT_CLAIMED"),
    );
    // Nothing of the second writer's epoch exists: the next restore finds the first writer's generation and fence.
    const third = await restoreIt();
    expect(third).toMatchObject({ found: true, epoch: 0, resumeOffset: "3000", detailCount: 3_000, fence: { epoch: 0 } });
  });

  it("fails with SNAPSHOT_TOPIC_MISSING for a topic that does not exist", async () => {
    await expect(
      restorePartition({ kafka: fx.kafka, topic: `${fx.topic.name}-missing`, sourceTopic: fx.sourceTopic, partition: 0 }),
    ).rejects.toSatisfy((error) => isSnapshotError(error, "SNAPSHOT_TOPIC_MISSING"));
  });
});
