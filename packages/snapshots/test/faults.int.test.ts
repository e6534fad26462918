import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { isSnapshotError, parseSnapshotKey, restorePartition, SnapshotWriter, type RestoredPartition } from "../src/index";
import { fillStatistics } from "./support/statistics";
import { eventually, latestValues, readRaw, snapshotFixture, type SnapshotFixture } from "./support/kafka";

const brokers = inject("kafkaBrokers");

describe("half-written generations and stale writers", () => {
  let fx: SnapshotFixture;
  beforeAll(async () => {
    // Small segments and an eager cleaner, so compaction can be watched within the test.
    fx = await snapshotFixture(brokers, { segmentMs: 100, minCleanableDirtyRatio: 0.01, minCompactionLagMs: 0, deleteRetentionMs: 60_000 });
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  const restore = (sourceTopic: string, partition = 0): Promise<RestoredPartition> =>
    restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic, partition, logger: fx.logger });
  const writerFor = (restored: RestoredPartition, options: { beforeManifest?: () => void } = {}) =>
    SnapshotWriter.create({
      producer: fx.producer,
      snapshotTopic: fx.topic,
      sourceTopic: restored.sourceTopic,
      partition: restored.partition,
      restored,
      logger: fx.logger,
      ...options,
    });

  it("ignores a generation whose manifest was never written; the next owner tombstones its orphans and compaction removes them", async () => {
    const sourceTopic = `${fx.sourceTopic}-half`;
    const first = await restore(sourceTopic);
    let crashAfterChunks = false;
    const orphans: string[] = [];
    const writer = SnapshotWriter.create({
      producer: fx.producer,
      snapshotTopic: fx.topic,
      sourceTopic,
      partition: 0,
      restored: first,
      beforeManifest: ({ chunkKeys }) => {
        if (!crashAfterChunks) return;
        orphans.push(...chunkKeys);
        throw new Error("simulated crash between chunks and manifest");
      },
    });
    await writer.claim();
    const live = first.statistics;
    fillStatistics({ count: 8000, seed: 400, into: live });
    await writer.writeGeneration({ statistics: live, resumeOffset: 8000 });
    const inForce = live.snapshotJson();

    fillStatistics({ count: 6000, seed: 401, start: 8000, into: live });
    crashAfterChunks = true;
    await expect(writer.writeGeneration({ statistics: live, resumeOffset: 14_000 })).rejects.toSatisfy((error) =>
      isSnapshotError(error, "SNAPSHOT_WRITE_FAILED"),
    );
    expect(orphans.length).toBeGreaterThan(0);
    expect(new Set(orphans.map((key) => parseSnapshotKey(key)?.type))).toEqual(new Set(["chunk"]));

    // The "crashed" writer is abandoned; a new owner restores the previous generation.
    const restored = await restore(sourceTopic);
    expect(restored).toMatchObject({ found: true, epoch: 0, generation: 1, resumeOffset: "8000", rejected: [] });
    expect(restored.statistics.snapshotJson()).toBe(inForce);
    expect([...restored.orphanKeys].sort()).toEqual([...orphans].sort());

    const owner = writerFor(restored);
    const claim = await owner.claim();
    expect(claim.epoch).toBe(1);
    const superseded = [...orphans, restored.manifestKey ?? "", ...(restored.manifest?.chunks ?? []).map((ref) => ref.key)];
    expect(claim.tombstones).toBe(superseded.length);
    const latest = latestValues(await readRaw(fx.kafka, fx.topic.name));
    for (const key of superseded) expect(latest.get(key), key).toBeNull();

    // One more generation rolls the segment; the cleaner then drops every value of the superseded keys.
    fillStatistics({ count: 10, seed: 402, start: 20_000, into: restored.statistics });
    await owner.writeGeneration({ statistics: restored.statistics, resumeOffset: 8010 });
    let polls = 0;
    await eventually(
      "compaction removed the values of the orphaned and superseded keys",
      async () => {
        const records = await readRaw(fx.kafka, fx.topic.name);
        if (records.every((record) => record.value === null || !superseded.includes(record.key))) return true;
        // Segments roll only on an append: now and then a generation with nothing new keeps them rolling.
        polls += 1;
        if (polls % 10 === 0) await owner.writeGeneration({ statistics: restored.statistics, resumeOffset: 8010 });
        return false;
      },
      180_000,
    );
    const after = await restore(sourceTopic);
    expect(after).toMatchObject({ found: true, epoch: 1, resumeOffset: "8010", orphanKeys: [], rejected: [] });
    expect(after.statistics.snapshotJson()).toBe(restored.statistics.snapshotJson());
  });

  it("lets a writer that survived a failed generation tombstone its orphans with its next full generation", async () => {
    const sourceTopic = `${fx.sourceTopic}-retry`;
    const first = await restore(sourceTopic);
    let fail = false;
    const orphans: string[] = [];
    const writer = writerFor(first, {
      beforeManifest: () => {
        if (fail) throw new Error("manifest not sent");
      },
    });
    await writer.claim();
    fillStatistics({ count: 3000, seed: 410, into: first.statistics });
    fail = true;
    await expect(writer.writeGeneration({ statistics: first.statistics, resumeOffset: 3000 })).rejects.toSatisfy((error) =>
      isSnapshotError(error, "SNAPSHOT_WRITE_FAILED"),
    );
    fail = false;
    const between = await restore(sourceTopic);
    orphans.push(...between.orphanKeys);
    expect(orphans.length).toBeGreaterThan(0);
    // The retry is incremental and leaves the orphans alone; the next full generation removes them.
    const retry = await writer.writeGeneration({ statistics: first.statistics, resumeOffset: 3000 });
    expect(retry).toMatchObject({ kind: "incremental", tombstones: 0 });
    const full = await writer.writeGeneration({ statistics: first.statistics, resumeOffset: 3000, full: true });
    expect(full.kind).toBe("full");
    const latest = latestValues(await readRaw(fx.kafka, fx.topic.name));
    for (const key of orphans) expect(latest.get(key), key).toBeNull();
    const restored = await restore(sourceTopic);
    expect(restored).toMatchObject({ found: true, generation: full.generation, orphanKeys: [] });
    expect(restored.statistics.snapshotJson()).toBe(first.statistics.snapshotJson());
  });

  it("never lets a stale writer (an old owner writing after the claim) regress the state", async () => {
    const sourceTopic = `${fx.sourceTopic}-stale`;
    const firstRestore = await restore(sourceTopic);
    const old = writerFor(firstRestore);
    await old.claim();
    const oldState = firstRestore.statistics;
    fillStatistics({ count: 5000, seed: 420, into: oldState });
    await old.writeGeneration({ statistics: oldState, resumeOffset: 5000 });

    // A new owner takes over (the old one is paused and does not know).
    const handover = await restore(sourceTopic);
    expect(handover).toMatchObject({ found: true, epoch: 0, resumeOffset: "5000" });
    const owner = writerFor(handover);
    const claim = await owner.claim();
    expect([old.epoch, owner.epoch]).toEqual([0, 1]);
    const claimed = handover.statistics.snapshotJson();

    // The old owner wakes up and goes on: more details, further offsets, an incremental and a full generation.
    fillStatistics({ count: 2000, seed: 421, start: 5000, into: oldState });
    const staleIncremental = await old.writeGeneration({ statistics: oldState, resumeOffset: 7000 });
    fillStatistics({ count: 2000, seed: 422, start: 7000, into: oldState });
    const staleFull = await old.writeGeneration({ statistics: oldState, resumeOffset: 9000, full: true });
    expect(staleIncremental.generation).toBeGreaterThanOrEqual(claim.generation);
    expect(staleFull.tombstones).toBeGreaterThan(0);

    const afterStale = await restore(sourceTopic);
    expect(afterStale).toMatchObject({ found: true, epoch: 1, generation: claim.generation, resumeOffset: "5000", rejected: [] });
    expect(afterStale.statistics.snapshotJson()).toBe(claimed);
    expect(afterStale.fence.epoch).toBe(1);

    // The new owner goes on; the stale one too; the new owner's state is what a restore sees.
    fillStatistics({ count: 700, seed: 423, start: 50_000, into: handover.statistics });
    await owner.writeGeneration({ statistics: handover.statistics, resumeOffset: 5700 });
    fillStatistics({ count: 100, seed: 424, start: 9000, into: oldState });
    await old.writeGeneration({ statistics: oldState, resumeOffset: 9100, full: true });
    const final = await restore(sourceTopic);
    expect(final).toMatchObject({ found: true, epoch: 1, resumeOffset: "5700" });
    expect(final.statistics.snapshotJson()).toBe(handover.statistics.snapshotJson());
    // What the stale writer left is garbage for the next owner to remove.
    expect(final.orphanKeys.length).toBeGreaterThan(0);
    expect(final.orphanKeys.every((key) => parseSnapshotKey(key)?.epoch === 0)).toBe(true);
  });
});
