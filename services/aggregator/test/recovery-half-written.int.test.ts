import { describe, expect, inject, it } from "vitest";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { parseSnapshotKey, restorePartitions } from "@usage-ledger/snapshots";
import type { ChildConfig } from "./support/aggregator-child";
import { childCaughtUp, spawnAggregatorChild } from "./support/child-process";
import type { AggregatorChild } from "./support/child-process";
import { snapshotDigest } from "./support/digest";
import { endOffsets, eventually, sleep, useTestTopics } from "./support/harness";
import { groundTruth, makeRecords, publishRecords } from "./support/records";
import { latestValues, readSnapshotTopic } from "./support/snapshot-topic";

const brokers = inject("kafkaBrokers");
const PARTITIONS = 2;

describe("half-written generation (issue 6, acceptance 4)", () => {
  const children: AggregatorChild[] = [];
  const { topics, kafka, admin } = useTestTopics(brokers, "half", () => Promise.all(children.map((child) => child.kill())));

  it("a crash between a generation's chunks and its manifest leaves the previous generation in force; the orphans are tombstoned later", async () => {
    const groupId = uniqueName("half");
    const config = (instance: number, crashBeforeManifest?: number): ChildConfig => ({
      brokers,
      instanceId: `half-${instance}`,
      groupId,
      ...topics,
      partitions: PARTITIONS,
      snapshotIntervalMs: 300,
      snapshotEveryRecords: 1_000,
      fullSnapshotEvery: 100,
      sessionTimeoutMs: 6_000,
      ...(crashBeforeManifest === undefined ? {} : { crashBeforeManifest }),
      ...(process.env.LEDGER_TEST_LOG ? { logFile: process.env.LEDGER_TEST_LOG } : {}),
    });
    // The 4th periodic generation of this instance dies after its chunks, before its manifest.
    const first = await spawnAggregatorChild(config(0, 4));
    children.push(first);
    const records = makeRecords({ count: 12_000, seed: 51 });
    const crashAt = records.length / 2;
    const published = await publishRecords({
      brokers,
      topic: topics.recordsTopic,
      records: records.slice(0, crashAt),
      resendRate: 0.05,
      seed: 52,
      onPublished: async (index) => {
        if (index % 250 === 249) await sleep(100);
      },
    });
    expect(published.reports.flatMap((report) => report.failed)).toEqual([]);
    const exit = await Promise.race([first.exited, sleep(60_000).then(() => undefined)]);
    expect(exit?.signal).toBe("SIGKILL");
    const crashLine = first.stdout.find((line) => line.startsWith("CRASHING "));
    expect(crashLine).toBeDefined();
    const crash = JSON.parse(crashLine!.slice("CRASHING ".length)) as { partition: number; generation: number };
    await sleep(300);

    // The half-written generation's chunks are there; its manifest is not; the previous one is in force.
    const before = await readSnapshotTopic(brokers, topics.snapshotsTopic);
    const keys = before.map((record) => parseSnapshotKey(record.key)).filter((key) => key !== undefined);
    const halfChunks = keys.filter(
      (key) => key.type === "chunk" && key.partition === crash.partition && key.generation === crash.generation,
    );
    expect(halfChunks.length).toBeGreaterThan(0);
    const [restored] = [
      ...(
        await restorePartitions({ kafka, topic: topics.snapshotsTopic, sourceTopic: topics.recordsTopic, partitions: [crash.partition] })
      ).values(),
    ];
    expect(restored?.found).toBe(true);
    expect(restored!.generation).toBeLessThan(crash.generation);
    const orphanKeys = before
      .filter((record) => {
        const key = parseSnapshotKey(record.key);
        return key?.type === "chunk" && key.partition === crash.partition && key.generation === crash.generation;
      })
      .map((record) => record.key);
    expect(restored!.orphanKeys).toEqual(expect.arrayContaining(orphanKeys));

    // A new instance restores that previous generation, claims the partition, and tombstones the orphans.
    const second = await spawnAggregatorChild(config(1));
    children.push(second);
    await eventually("the new instance restored the crashed partition", () =>
      second.events.some((event) => event.type === "restored" && event.partition === crash.partition),
    );
    const restoreEvent = second.events.find((event) => event.type === "restored" && event.partition === crash.partition);
    expect(restoreEvent).toMatchObject({ generation: restored!.generation, resumeOffset: Number(restored!.resumeOffset) });
    await publishRecords({ brokers, topic: topics.recordsTopic, records: records.slice(crashAt), resendRate: 0.05, seed: 53 });
    const ends = await endOffsets(admin, topics.recordsTopic);
    await eventually("the new instance applied everything", () => childCaughtUp(second, ends));
    await eventually("the orphans are tombstoned", async () => {
      const latest = latestValues(await readSnapshotTopic(brokers, topics.snapshotsTopic));
      return orphanKeys.every((key) => latest.has(key) && latest.get(key) === null);
    });
    const digest = await second.digest();
    expect(digest.local).toBe(snapshotDigest(groundTruth(records)));
    expect((await second.stop()).code).toBe(0);
  });
});
