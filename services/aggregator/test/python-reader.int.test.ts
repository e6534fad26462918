import { describe, expect, inject, it } from "vitest";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { ensureSnapshotTopic, SnapshotReader } from "@usage-ledger/snapshots";
import { parseImportBody } from "@usage-ledger/statistics";
import type { UsageRecord } from "@usage-ledger/statistics";
import { edgeRecords, importBody, produceRaw, rawMessages } from "./support/edge-stream";
import { aggregatorOptions, caughtUp, eventually, startAggregator, useTestTopics } from "./support/harness";
import type { RunningAggregator } from "./support/harness";
import { pythonReaderPython, runPythonReader } from "./support/python-reader";
import { makeRecords, publishRecords } from "./support/records";
import { readSnapshotTopic } from "./support/snapshot-topic";

const brokers = inject("kafkaBrokers");
const PARTITIONS = 6;

// Issue 18, acceptance 4: a reader in another language, written from the specification alone
// (tools/python-reader), rebuilds exactly the statistics the aggregator holds, from the topics.
describe("the Python reader written from the spec", () => {
  const running: RunningAggregator[] = [];
  const { topics, kafka, admin } = useTestTopics(brokers, "pyreader", () =>
    Promise.all(running.splice(0).map((instance) => instance.aggregator.stop())),
  );
  const groupId = uniqueName("pyreader");

  async function start(instanceId: string, overrides: { snapshotIntervalMs?: number; snapshotEveryRecords?: number } = {}) {
    const instance = await startAggregator(
      aggregatorOptions(brokers, topics, {
        instanceId,
        groupId,
        partitions: PARTITIONS,
        snapshotIntervalMs: 300,
        fullSnapshotEvery: 3,
        ...overrides,
      }),
    );
    running.push(instance);
    return instance;
  }

  async function stop(instance: RunningAggregator): Promise<void> {
    running.splice(running.indexOf(instance), 1);
    await instance.aggregator.stop();
  }

  async function publish(records: readonly UsageRecord[], seed: number): Promise<void> {
    const published = await publishRecords({ brokers, topic: topics.recordsTopic, records, publishers: 2, resendRate: 0.05, seed });
    expect(published.reports.every((report) => report.failed.length === 0)).toBe(true);
  }

  async function importThrough(instance: RunningAggregator, tag: string, existing: UsageRecord): Promise<void> {
    const result = await instance.aggregator.importSnapshot(parseImportBody(importBody(tag, existing)).snapshot);
    // The blank API is dropped; the repeated record is skipped; every other detail is new.
    expect({ added: result.added, skipped: result.skipped }).toEqual({ added: 4, skipped: 1 });
  }

  /** Snapshot-topic records that compaction removed: the offsets span more records than a read finds. */
  async function compactedAway(): Promise<number> {
    const offsets = await admin.fetchTopicOffsets(topics.snapshotsTopic);
    const span = offsets.reduce((sum, entry) => sum + Number(entry.high) - Number(entry.low), 0);
    return span - (await readSnapshotTopic(brokers, topics.snapshotsTopic)).length;
  }

  it("rebuilds, byte for byte, the fleet statistics of a stream of records, imports, epochs and compaction", async () => {
    const python = pythonReaderPython();
    // Two snapshot partitions (source partition p lives in p mod 2), small segments and an eager
    // cleaner: compaction really removes superseded generations and tombstones during the test.
    await ensureSnapshotTopic(admin, {
      topic: topics.snapshotsTopic,
      partitions: 2,
      segmentMs: 100,
      minCompactionLagMs: 0,
      minCleanableDirtyRatio: 0.01,
      deleteRetentionMs: 100,
    });
    const day = 1_768_003_200;

    // Epoch 0: A alone writes incremental and full generations of records, edge cases, raw messages and an import.
    const a = await start("pyreader-a");
    await eventually(
      "A owns every partition",
      () => a.aggregator.readiness().ready && a.aggregator.ownedPartitions().length === PARTITIONS,
    );
    const first = makeRecords({ count: 1_500, seed: 181, startEpochSeconds: day });
    await publish([...first, ...edgeRecords("a", day + 40_000, PARTITIONS)], 182);
    await produceRaw(brokers, topics.recordsTopic, rawMessages("a", day + 41_000));
    await eventually("A applied everything", () => caughtUp(admin, topics.recordsTopic, [a.aggregator]));
    await importThrough(a, "a", first[0]!);

    // Epoch 1: B joins (a rebalance: B claims the partitions it takes), then A leaves (B claims the rest).
    const b = await start("pyreader-b");
    await eventually("A and B split the partitions", () => {
      const owned = a.aggregator.ownedPartitions().length + b.aggregator.ownedPartitions().length;
      return (
        owned === PARTITIONS &&
        b.aggregator.ownedPartitions().length > 0 &&
        a.aggregator.readiness().ready &&
        b.aggregator.readiness().ready
      );
    });
    await publish(makeRecords({ count: 800, seed: 183, startEpochSeconds: day + 86_400, tag: "b-" }), 184);
    await eventually("A and B applied everything", () => caughtUp(admin, topics.recordsTopic, [a.aggregator, b.aggregator]));
    await stop(a);
    await eventually(
      "B owns every partition",
      () => b.aggregator.readiness().ready && b.aggregator.ownedPartitions().length === PARTITIONS,
    );
    const third = makeRecords({ count: 600, seed: 185, startEpochSeconds: day + 2 * 86_400, tag: "c-" });
    await publish(third, 186);
    await eventually("B applied everything", () => caughtUp(admin, topics.recordsTopic, [b.aggregator]));
    await importThrough(b, "b", third[0]!);
    // Keep B writing small generations until the cleaner has compacted some superseded ones away.
    for (let round = 0; (await compactedAway()) === 0; round++) {
      expect(round, "compaction removed nothing from the snapshot topic").toBeLessThan(60);
      await publish(
        makeRecords({ count: 5, seed: 1_000 + round, startEpochSeconds: day + 3 * 86_400 + round * 60, tag: `r${String(round)}-` }),
        round,
      );
      await eventually("B applied the round", () => caughtUp(admin, topics.recordsTopic, [b.aggregator]));
      const before = b.events.filter((event) => event.type === "snapshot").length;
      await eventually("B wrote a generation", () => b.events.filter((event) => event.type === "snapshot").length > before);
    }
    await stop(b);

    // The generations alone (the last of B's epoch on every partition, incremental or full): the
    // Python reader's fleet equals the TypeScript SnapshotReader's.
    const reader = SnapshotReader.create({ kafka, topic: topics.snapshotsTopic, sourceTopic: topics.recordsTopic });
    let fromGenerations: string;
    try {
      fromGenerations = (await reader.readAll()).fleet.snapshotJson();
    } finally {
      await reader.close();
    }
    const generationsOnly = await runPythonReader(python, brokers, topics, { replay: false });
    expect(generationsOnly.partitions.map((partition) => partition.partition)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(generationsOnly.json).toBe(fromGenerations);

    // Epoch 2: C restores and claims every partition, then writes no generation while more records,
    // raw messages and an import arrive: the reader must replay that tail from usage.records.
    const c = await start("pyreader-c", { snapshotIntervalMs: 3_600_000, snapshotEveryRecords: 10_000_000 });
    await eventually(
      "C claimed every partition",
      () =>
        c.aggregator.readiness().ready && new Set(c.events.flatMap((e) => (e.type === "claimed" ? [e.partition] : []))).size === PARTITIONS,
    );
    const fourth = makeRecords({ count: 500, seed: 187, startEpochSeconds: day + 4 * 86_400, tag: "d-" });
    await publish([...fourth, ...edgeRecords("c", day + 4 * 86_400 + 40_000, PARTITIONS)], 188);
    await produceRaw(brokers, topics.recordsTopic, rawMessages("c", day + 4 * 86_400 + 41_000));
    await eventually("C applied everything", () => caughtUp(admin, topics.recordsTopic, [c.aggregator]));
    await importThrough(c, "c", fourth[0]!);
    await eventually("C applied the import", () => caughtUp(admin, topics.recordsTopic, [c.aggregator]));

    const replayed = await runPythonReader(python, brokers, topics, { replay: true });
    expect(replayed.json).toBe(c.aggregator.fleetStatistics().snapshotJson());
    // It restored C's claims (epoch 2) and replayed the tail: records, the import and the dead letters C skipped.
    expect(replayed.partitions.map((partition) => partition.epoch)).toEqual(Array<number>(PARTITIONS).fill(2));
    const tail = replayed.partitions.reduce(
      (sum, partition) => ({
        added: sum.added + partition.counts.added,
        imports: sum.imports + partition.counts.import_batches,
        deadLetters: sum.deadLetters + partition.counts.dead_letters.length,
      }),
      { added: 0, imports: 0, deadLetters: 0 },
    );
    expect(tail.added).toBeGreaterThan(fourth.length);
    expect(tail.imports).toBeGreaterThan(0);
    expect(tail.deadLetters).toBe(c.aggregator.progress().dlq);
    expect(tail.deadLetters).toBe(4);
  });
});
