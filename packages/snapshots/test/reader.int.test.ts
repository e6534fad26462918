import type { RequestStatistics, UsageRecord } from "@usage-ledger/statistics";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { restorePartition, SnapshotReader, SnapshotWriter, type GenerationEvent } from "../src/index";
import { makeRecords, statisticsOf } from "./support/statistics";
import { eventually, snapshotFixture, type SnapshotFixture } from "./support/kafka";

const brokers = inject("kafkaBrokers");
const PARTITIONS = 3;

/** The source partition of a record: by API key, as usage.records is keyed (every key lives in one partition). */
function partitionOf(record: UsageRecord): number {
  return Number(record.apiKey.slice(3)) % PARTITIONS;
}

describe("SnapshotReader", () => {
  let fx: SnapshotFixture;
  const all: UsageRecord[] = [];
  const sources = new Map<number, { statistics: RequestStatistics; writer: SnapshotWriter; offset: number }>();

  /** Applies records to their partitions' stores, as the aggregator would. */
  function ingest(records: readonly UsageRecord[]): void {
    for (const record of records) {
      const source = sources.get(partitionOf(record));
      source?.statistics.apply(record);
      if (source !== undefined) source.offset += 1;
      all.push(record);
    }
  }

  beforeAll(async () => {
    // Two snapshot partitions for three source partitions: 0 and 2 share one.
    fx = await snapshotFixture(brokers, { partitions: 2 });
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const restored = await restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic: fx.sourceTopic, partition });
      const writer = SnapshotWriter.create({
        producer: fx.producer,
        snapshotTopic: fx.topic,
        sourceTopic: fx.sourceTopic,
        partition,
        restored,
      });
      await writer.claim();
      sources.set(partition, { statistics: restored.statistics, writer, offset: 0 });
    }
    ingest(makeRecords({ count: 20_000, seed: 600 }));
    for (const source of sources.values())
      await source.writer.writeGeneration({ statistics: source.statistics, resumeOffset: source.offset });
    ingest(makeRecords({ count: 3_000, seed: 601, start: 20_000 }));
    for (const source of sources.values())
      await source.writer.writeGeneration({ statistics: source.statistics, resumeOffset: source.offset });
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  it("rebuilds every partition and the fleet statistics from the topic alone", async () => {
    const reader = SnapshotReader.create({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic: fx.sourceTopic, logger: fx.logger });
    const result = await reader.readAll();
    await reader.close();
    expect([...result.partitions.keys()].sort()).toEqual([0, 1, 2]);
    for (const [partition, source] of sources) {
      const view = result.partitions.get(partition);
      expect(view).toMatchObject({
        partition,
        epoch: 0,
        generation: 2,
        resumeOffset: String(source.offset),
        detailCount: source.statistics.detailCount,
      });
      expect(view?.statistics.snapshotJson()).toBe(source.statistics.snapshotJson());
    }
    // Ground truth: the distinct records, applied in publication order to one store.
    expect(result.fleet.snapshotJson()).toBe(statisticsOf(all).snapshotJson());
    expect(reader.fleetStatistics()).toBe(result.fleet);
  });

  it("reads only the partitions asked for", async () => {
    const reader = SnapshotReader.create({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic: fx.sourceTopic, partitions: [2] });
    const result = await reader.readAll();
    await reader.close();
    expect([...result.partitions.keys()]).toEqual([2]);
    expect(result.fleet.snapshotJson()).toBe(sources.get(2)?.statistics.snapshotJson());
  });

  it("follows new generations as they land: incremental, full, and a new owner's claim", async () => {
    const reader = SnapshotReader.create({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic: fx.sourceTopic, logger: fx.logger });
    const events: GenerationEvent[] = [];
    await reader.follow((event) => {
      events.push(event);
    });
    // Caught up: one event per partition, each its latest generation, rebuilt from its chunks.
    expect(events.map((event) => [event.partition, event.generation, event.rebuilt]).sort()).toEqual([
      [0, 2, true],
      [1, 2, true],
      [2, 2, true],
    ]);
    expect(reader.fleetStatistics().snapshotJson()).toBe(statisticsOf(all).snapshotJson());

    const waitFor = (what: string, predicate: (event: GenerationEvent) => boolean) => eventually(what, () => events.some(predicate));
    const source = (partition: number) => sources.get(partition) ?? expect.unreachable();

    // Partition 1 writes an incremental generation: applied without a rebuild, the fleet follows.
    const before1 = source(1).statistics.detailCount;
    ingest(makeRecords({ count: 2_000, seed: 602, start: 23_000 }).filter((record) => partitionOf(record) === 1));
    const incremental = await source(1).writer.writeGeneration({ statistics: source(1).statistics, resumeOffset: source(1).offset });
    expect(incremental.kind).toBe("incremental");
    await waitFor("partition 1's incremental generation", (event) => event.partition === 1 && event.generation === incremental.generation);
    expect(events.at(-1)).toMatchObject({
      partition: 1,
      kind: "incremental",
      rebuilt: false,
      addedDetails: source(1).statistics.detailCount - before1,
    });
    expect(reader.fleetStatistics().snapshotJson()).toBe(statisticsOf(all).snapshotJson());

    // Partition 2 writes a full generation of the same epoch: still only the new details are merged.
    const before2 = source(2).statistics.detailCount;
    ingest(makeRecords({ count: 2_000, seed: 603, start: 25_000 }).filter((record) => partitionOf(record) === 2));
    const full = await source(2).writer.writeGeneration({ statistics: source(2).statistics, resumeOffset: source(2).offset, full: true });
    await waitFor("partition 2's full generation", (event) => event.partition === 2 && event.generation === full.generation);
    expect(events.at(-1)).toMatchObject({
      partition: 2,
      kind: "full",
      rebuilt: false,
      addedDetails: source(2).statistics.detailCount - before2,
    });
    expect(reader.fleetStatistics().snapshotJson()).toBe(statisticsOf(all).snapshotJson());

    // Partition 0 changes owner: the claim (a new epoch) rebuilds that partition.
    const restored = await restorePartition({ kafka: fx.kafka, topic: fx.topic.name, sourceTopic: fx.sourceTopic, partition: 0 });
    const owner = SnapshotWriter.create({
      producer: fx.producer,
      snapshotTopic: fx.topic,
      sourceTopic: fx.sourceTopic,
      partition: 0,
      restored,
    });
    const claim = await owner.claim();
    sources.set(0, { statistics: restored.statistics, writer: owner, offset: source(0).offset });
    await waitFor("partition 0's claim by a new owner", (event) => event.partition === 0 && event.epoch === 1);
    expect(events.at(-1)).toMatchObject({ partition: 0, epoch: 1, generation: claim.generation, rebuilt: true });
    ingest(makeRecords({ count: 1_500, seed: 604, start: 27_000 }).filter((record) => partitionOf(record) === 0));
    const next = await owner.writeGeneration({ statistics: restored.statistics, resumeOffset: source(0).offset });
    await waitFor("the new owner's next generation", (event) => event.partition === 0 && event.generation === next.generation);
    expect(events.at(-1)).toMatchObject({ partition: 0, epoch: 1, rebuilt: false });
    expect(reader.fleetStatistics().snapshotJson()).toBe(statisticsOf(all).snapshotJson());
    for (const [partition, state] of sources)
      expect(reader.partitions().get(partition)?.statistics.snapshotJson()).toBe(state.statistics.snapshotJson());

    await reader.close();
  });
  it("defers the partitions the caller holds: their manifests are reported, their views built only once let go", async () => {
    let held = new Set([0, 1]);
    const reported = new Map<number, { epoch: number; generation: number }>();
    const events: GenerationEvent[] = [];
    const reader = SnapshotReader.create({
      kafka: fx.kafka,
      topic: fx.topic.name,
      sourceTopic: fx.sourceTopic,
      logger: fx.logger,
      defer: (partition) => held.has(partition),
      onDeferredManifest: (manifest) => reported.set(manifest.partition, { epoch: manifest.writerEpoch, generation: manifest.generation }),
    });
    await reader.follow((event) => {
      events.push(event);
    });
    const source = (partition: number) => sources.get(partition) ?? expect.unreachable();
    const writerOf = (partition: number) => ({ epoch: source(partition).writer.epoch, generation: source(partition).writer.generation });
    expect(events.map((event) => event.partition)).toEqual([2]);
    expect([...reader.partitions().keys()]).toEqual([2]);
    expect(reported).toEqual(
      new Map([
        [0, writerOf(0)],
        [1, writerOf(1)],
      ]),
    );

    // A new generation of a held partition is reported, not built.
    ingest(makeRecords({ count: 2_000, seed: 605, start: 28_500 }).filter((record) => partitionOf(record) === 1));
    const held1 = await source(1).writer.writeGeneration({ statistics: source(1).statistics, resumeOffset: source(1).offset });
    await eventually("partition 1's new manifest reported", () => reported.get(1)?.generation === held1.generation);
    expect(reader.partitions().has(1)).toBe(false);
    expect(events.map((event) => event.partition)).toEqual([2]);

    // Let go of partition 1: its view is built from the records the reader kept.
    held = new Set([0]);
    reader.settleDeferred();
    await eventually("partition 1 built", () => events.some((event) => event.partition === 1));
    expect(events.at(-1)).toMatchObject({ partition: 1, generation: held1.generation, rebuilt: true });
    expect(reader.partitions().get(1)?.statistics.snapshotJson()).toBe(source(1).statistics.snapshotJson());
    expect(reader.partitions().has(0)).toBe(false);
    await reader.close();
  });
});
