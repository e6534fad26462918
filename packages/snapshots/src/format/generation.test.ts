import { RequestStatistics } from "@usage-ledger/statistics";
import { encodeSnapshotManifest, type ChunkRef, type SnapshotKind, type SnapshotManifest } from "@usage-ledger/wire";
import { describe, expect, it } from "vitest";
import { applyGeneration, compareManifests, fenceOf, orphanKeys, selectGeneration, verifyChunks, type PartitionLog } from "./generation";
import { encodeChunkRecords, encodeManifestRecord } from "./records";
import { fillStatistics } from "../../test/support/statistics";

const SOURCE = "usage.records";
const clock = () => ({ epochSeconds: 1_767_225_600, nanos: 5, offsetSeconds: 0 });

function emptyLog(partition = 0): PartitionLog {
  return { sourceTopic: SOURCE, partition, values: new Map() };
}

interface WriteOptions {
  readonly statistics: RequestStatistics;
  readonly epoch: number;
  readonly generation: number;
  readonly kind?: SnapshotKind;
  /** For an incremental generation: the chunks in force and the details they hold. */
  readonly base?: { readonly generation: number; readonly chunks: readonly ChunkRef[]; readonly detailCount: number };
  readonly resumeOffset?: string;
  /** false: chunks only, as a writer that crashed before its manifest. */
  readonly manifest?: boolean;
  readonly partition?: number;
}

/** Appends one generation's records to the log as the writer would produce them (pure encoders, no broker). */
function writeGeneration(log: PartitionLog, options: WriteOptions): { chunks: ChunkRef[]; manifest: SnapshotManifest | undefined } {
  const kind = options.kind ?? "full";
  const partition = options.partition ?? log.partition;
  const from = kind === "full" ? 0 : (options.base?.detailCount ?? 0);
  const fresh: ChunkRef[] = [];
  for (const record of encodeChunkRecords({
    statistics: options.statistics,
    sourceTopic: SOURCE,
    partition,
    epoch: options.epoch,
    generation: options.generation,
    from,
    maxMessageBytes: 48 * 1024,
  })) {
    log.values.set(record.key, record.value);
    fresh.push(record.ref);
  }
  const chunks = kind === "full" ? fresh : [...(options.base?.chunks ?? []), ...fresh];
  if (options.manifest === false) return { chunks, manifest: undefined };
  const record = encodeManifestRecord({
    detailCount: options.statistics.detailCount,
    totals: options.statistics.totals(),
    sourceTopic: SOURCE,
    partition,
    epoch: options.epoch,
    generation: options.generation,
    kind,
    baseGeneration: options.base?.generation,
    chunks,
    resumeOffset: options.resumeOffset ?? String(options.statistics.detailCount),
    clock,
    maxMessageBytes: 48 * 1024,
  });
  log.values.set(record.key, record.value);
  return { chunks, manifest: record.manifest };
}

function restored(log: PartitionLog) {
  return selectGeneration(log, () => new RequestStatistics());
}

describe("the restore rule (selectGeneration)", () => {
  it("restores a full generation followed by incremental ones exactly", () => {
    const log = emptyLog();
    const live = fillStatistics({ count: 5000, seed: 3 });
    const g1 = writeGeneration(log, { statistics: live, epoch: 0, generation: 1 });
    fillStatistics({ count: 1000, seed: 4, start: 5000, into: live });
    const g2 = writeGeneration(log, {
      statistics: live,
      epoch: 0,
      generation: 2,
      kind: "incremental",
      base: { generation: 1, chunks: g1.chunks, detailCount: 5000 },
    });
    fillStatistics({ count: 10, seed: 5, start: 6000, into: live });
    writeGeneration(log, {
      statistics: live,
      epoch: 0,
      generation: 3,
      kind: "incremental",
      base: { generation: 2, chunks: g2.chunks, detailCount: 6000 },
      resumeOffset: "6010",
    });

    const selection = restored(log);
    expect(selection.rejected).toEqual([]);
    expect(selection.chosen?.manifest).toMatchObject({
      generation: 3,
      writerEpoch: 0,
      kind: "incremental",
      baseGeneration: 2,
      resumeOffset: "6010",
      detailCount: 6010,
    });
    expect(selection.chosen?.statistics.snapshotJson()).toBe(live.snapshotJson());
    expect(orphanKeys(log, selection.chosen?.key, selection.chosen?.manifest)).toEqual([]);
  });

  it("ignores a half-written generation (chunks, no manifest): the previous one is restored, its chunks are orphans", () => {
    const log = emptyLog();
    const live = fillStatistics({ count: 3000, seed: 8 });
    const before = live.snapshotJson();
    const g1 = writeGeneration(log, { statistics: live, epoch: 0, generation: 1 });
    fillStatistics({ count: 3000, seed: 9, start: 3000, into: live });
    const half = writeGeneration(log, {
      statistics: live,
      epoch: 0,
      generation: 2,
      kind: "incremental",
      base: { generation: 1, chunks: g1.chunks, detailCount: 3000 },
      manifest: false,
    });

    const selection = restored(log);
    expect(selection.chosen?.manifest.generation).toBe(1);
    expect(selection.chosen?.statistics.snapshotJson()).toBe(before);
    const orphans = orphanKeys(log, selection.chosen?.key, selection.chosen?.manifest);
    expect(orphans.sort()).toEqual(
      half.chunks
        .slice(g1.chunks.length)
        .map((ref) => ref.key)
        .sort(),
    );
    expect(orphans.length).toBeGreaterThan(0);
    expect(fenceOf(log)).toEqual({ epoch: 0, generation: 2 });
  });

  it("prefers the higher epoch over a higher generation (a stale writer cannot win)", () => {
    const log = emptyLog();
    const owner = fillStatistics({ count: 2000, seed: 11 });
    writeGeneration(log, { statistics: owner, epoch: 1, generation: 4, resumeOffset: "2000" });
    const stale = fillStatistics({ count: 2500, seed: 12 });
    writeGeneration(log, { statistics: stale, epoch: 0, generation: 9, resumeOffset: "9999" });

    const selection = restored(log);
    expect(selection.chosen?.manifest).toMatchObject({ writerEpoch: 1, generation: 4, resumeOffset: "2000" });
    expect(selection.chosen?.statistics.snapshotJson()).toBe(owner.snapshotJson());
    expect(fenceOf(log)).toEqual({ epoch: 1, generation: 9 });
  });

  it("falls back to the next older complete generation when a chunk is tombstoned or corrupted", () => {
    for (const damage of ["tombstone", "flip"] as const) {
      const log = emptyLog();
      const older = fillStatistics({ count: 1500, seed: 13 });
      writeGeneration(log, { statistics: older, epoch: 0, generation: 1 });
      const newer = fillStatistics({ count: 1800, seed: 14 });
      const broken = writeGeneration(log, { statistics: newer, epoch: 1, generation: 2 });
      const victim = broken.chunks[1]?.key ?? "";
      if (damage === "tombstone") {
        log.values.set(victim, null);
      } else {
        const bytes = Buffer.from(log.values.get(victim) ?? Buffer.alloc(0));
        bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0xff;
        log.values.set(victim, bytes);
      }
      const selection = restored(log);
      expect(selection.chosen?.manifest).toMatchObject({ writerEpoch: 0, generation: 1 });
      expect(selection.chosen?.statistics.snapshotJson()).toBe(older.snapshotJson());
      expect(selection.rejected).toEqual([
        {
          key: `m/${SOURCE}/0/1`,
          epoch: 1,
          generation: 2,
          code: damage === "tombstone" ? "SNAPSHOT_CHUNK_MISSING" : "SNAPSHOT_CHECKSUM_MISMATCH",
          message: expect.stringContaining(victim) as string,
        },
      ]);
    }
  });

  it("rejects undecodable manifests, manifests under another epoch's key, and chunks of another partition", () => {
    const log = emptyLog(2);
    const good = fillStatistics({ count: 500, seed: 15 });
    writeGeneration(log, { statistics: good, epoch: 0, generation: 1 });
    log.values.set(`m/${SOURCE}/2/7`, Buffer.from("not a manifest"));
    // A manifest of epoch 3 filed under epoch 5's key.
    const moved = emptyLog(2);
    writeGeneration(moved, { statistics: good, epoch: 3, generation: 2 });
    for (const [key, value] of moved.values) log.values.set(key.startsWith("m/") ? `m/${SOURCE}/2/5` : key, value);
    // A manifest of epoch 4 that lists partition 9's chunks.
    const foreign = emptyLog(9);
    const other = writeGeneration(foreign, { statistics: good, epoch: 4, generation: 3, manifest: false, partition: 9 });
    const manifest = encodeManifestRecord({
      detailCount: good.detailCount,
      totals: good.totals(),
      sourceTopic: SOURCE,
      partition: 2,
      epoch: 4,
      generation: 3,
      kind: "full",
      baseGeneration: undefined,
      chunks: other.chunks,
      resumeOffset: "1",
      clock,
      maxMessageBytes: 1 << 20,
    });
    log.values.set(manifest.key, manifest.value);
    for (const [key, value] of foreign.values) log.values.set(key, value);

    const selection = restored(log);
    expect(selection.chosen?.manifest).toMatchObject({ writerEpoch: 0, generation: 1 });
    expect(selection.rejected.map(({ key, code }) => ({ key, code }))).toEqual([
      { key: `m/${SOURCE}/2/4`, code: "SNAPSHOT_INVALID_MANIFEST" },
      { key: `m/${SOURCE}/2/7`, code: "SNAPSHOT_INVALID_MANIFEST" },
      { key: `m/${SOURCE}/2/5`, code: "SNAPSHOT_INVALID_MANIFEST" },
    ]);
  });

  it("rejects a generation whose rebuilt state differs from its manifest (SNAPSHOT_STATE_MISMATCH)", () => {
    const log = emptyLog();
    const statistics = fillStatistics({ count: 800, seed: 16 });
    const { chunks } = writeGeneration(log, { statistics, epoch: 0, generation: 1, manifest: false });
    const totals = statistics.totals();
    const manifest = encodeManifestRecord({
      detailCount: statistics.detailCount,
      totals: { ...totals, totalTokens: totals.totalTokens + 1 },
      sourceTopic: SOURCE,
      partition: 0,
      epoch: 0,
      generation: 1,
      kind: "full",
      baseGeneration: undefined,
      chunks,
      resumeOffset: "800",
      clock,
      maxMessageBytes: 1 << 20,
    });
    log.values.set(manifest.key, manifest.value);
    const selection = restored(log);
    expect(selection.chosen).toBeUndefined();
    expect(selection.rejected.map((entry) => entry.code)).toEqual(["SNAPSHOT_STATE_MISMATCH"]);
  });

  it("rejects chunks of a schema the reader does not know (SNAPSHOT_SCHEMA_MISMATCH)", () => {
    const log = emptyLog();
    const statistics = fillStatistics({ count: 100, seed: 17 });
    const { manifest } = writeGeneration(log, { statistics, epoch: 0, generation: 1 });
    const unknown = { ...(manifest as SnapshotManifest), schemaFingerprint: "0123456789abcdef" };
    log.values.set(`m/${SOURCE}/0/0`, encodeSnapshotManifest(unknown));
    const selection = restored(log);
    expect(selection.chosen).toBeUndefined();
    expect(selection.rejected.map((entry) => entry.code)).toEqual(["SNAPSHOT_SCHEMA_MISMATCH"]);
    expect(() => verifyChunks(unknown, log.values)).toThrow(/0123456789abcdef/);
  });

  it("finds nothing in a log of orphans, but fences their epoch", () => {
    const log = emptyLog();
    writeGeneration(log, { statistics: fillStatistics({ count: 300, seed: 18 }), epoch: 6, generation: 2, manifest: false });
    const selection = restored(log);
    expect(selection).toEqual({ chosen: undefined, rejected: [] });
    expect(fenceOf(log)).toEqual({ epoch: 6, generation: 2 });
    expect(orphanKeys(log, undefined, undefined).length).toBe(log.values.size);
    expect(fenceOf(emptyLog())).toEqual({ epoch: -1, generation: -1 });
  });

  it("orders manifests by epoch, then generation", () => {
    const m = (writerEpoch: number, generation: number) => ({ writerEpoch, generation }) as SnapshotManifest;
    const sorted = [m(0, 9), m(2, 1), m(1, 5), m(2, 3)].sort(compareManifests);
    expect(sorted.map((entry) => [entry.writerEpoch, entry.generation])).toEqual([
      [2, 3],
      [2, 1],
      [1, 5],
      [0, 9],
    ]);
  });
});

describe("applyGeneration", () => {
  it("advances a store holding a prefix of the generation to exactly the generation's state", () => {
    const log = emptyLog();
    const live = fillStatistics({ count: 4000, seed: 21 });
    const g1 = writeGeneration(log, { statistics: live, epoch: 0, generation: 1 });
    const follower = restored(log).chosen?.statistics ?? new RequestStatistics();
    fillStatistics({ count: 2222, seed: 22, start: 4000, into: live });
    // A full rewrite of the same lineage: only rows past the follower's 4000 details are merged.
    const g2 = writeGeneration(log, { statistics: live, epoch: 0, generation: 2 });
    const merged: number[] = [];
    applyGeneration({
      target: follower,
      manifest: g2.manifest as SnapshotManifest,
      chunks: verifyChunks(g2.manifest as SnapshotManifest, log.values),
      fromCount: 4000,
      onBatch: (batch) => merged.push(batch.count),
    });
    expect(merged.reduce((sum, count) => sum + count, 0)).toBe(2222);
    expect(follower.snapshotJson()).toBe(live.snapshotJson());
    expect(g1.chunks.length).toBeGreaterThan(0);
  });
});
