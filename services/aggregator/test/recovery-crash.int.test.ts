import { describe, expect, inject, it } from "vitest";
import type { Kafka } from "kafkajs";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { restorePartitions } from "@usage-ledger/snapshots";
import type { RestoreReport } from "../src/index";
import type { ChildConfig } from "./support/aggregator-child";
import { childCaughtUp, spawnAggregatorChild } from "./support/child-process";
import type { AggregatorChild } from "./support/child-process";
import { snapshotDigest } from "./support/digest";
import { endOffsets, eventually, sleep, useTestTopics } from "./support/harness";
import { groundTruth, makeRecords, publishRecords, seededRandom } from "./support/records";

const brokers = inject("kafkaBrokers");
const PARTITIONS = 4;
const ALL = Array.from({ length: PARTITIONS }, (_, partition) => partition);

/** The resume offset of each partition's newest complete generation, as a restore sees it now. */
async function newestResumeOffsets(kafka: Kafka, snapshotsTopic: string, recordsTopic: string): Promise<Map<number, number>> {
  const restored = await restorePartitions({ kafka, topic: snapshotsTopic, sourceTopic: recordsTopic, partitions: ALL });
  return new Map([...restored].map(([partition, result]) => [partition, Number(result.resumeOffset)]));
}

/** The child's restores, as it last reported them (with what each replayed so far). */
function restoresOf(child: AggregatorChild): readonly RestoreReport[] {
  return child.progress()?.restores ?? [];
}

describe("crash recovery (issue 6, acceptance 1)", () => {
  const children: AggregatorChild[] = [];
  const { topics, kafka, admin } = useTestTopics(brokers, "crash", () => Promise.all(children.map((child) => child.kill())));

  it("SIGKILLed at 5 random points during a stream and restarted each time: exact in the end, each restart replaying only the tail after its newest generation", async () => {
    const groupId = uniqueName("crash");
    const config = (instance: number): ChildConfig => ({
      brokers,
      instanceId: `crash-${instance}`,
      groupId,
      ...topics,
      partitions: PARTITIONS,
      snapshotIntervalMs: 400,
      snapshotEveryRecords: 2_000,
      fullSnapshotEvery: 3,
      sessionTimeoutMs: 6_000,
      ...(process.env.LEDGER_TEST_LOG ? { logFile: process.env.LEDGER_TEST_LOG } : {}),
    });
    let child = await spawnAggregatorChild(config(0));
    children.push(child);

    const records = makeRecords({ count: 36_000, seed: 41 });
    const segments = 6;
    const segmentSize = records.length / segments;
    const random = seededRandom(43);
    const checkedRestores: RestoreReport[] = [];
    const failed: unknown[] = [];
    for (let segment = 0; segment < segments; segment++) {
      const slice = records.slice(segment * segmentSize, (segment + 1) * segmentSize);
      const crash = segment + 1;
      // A random point within the segment's stream, unless this is the last segment.
      const cut = crash <= 5 ? Math.floor(segmentSize * (0.2 + 0.6 * random())) : -1;
      const published = await publishRecords({
        brokers,
        topic: topics.recordsTopic,
        records: slice,
        publishers: 2,
        resendRate: 0.05,
        seed: 42 + segment,
        onPublished: async (index) => {
          if (index === cut) {
            await child.kill();
            checkedRestores.push(...restoresOf(child));
          }
          // A steady stream, so that the aggregator is busy applying when it is killed.
          if (index % 500 === 499) await sleep(100);
        },
      });
      failed.push(...published.reports.flatMap((report) => report.failed));
      if (crash > 5) break;
      // A produce request on the wire when the process died may still land: let it.
      await sleep(300);
      const newest = await newestResumeOffsets(kafka, topics.snapshotsTopic, topics.recordsTopic);
      child = await spawnAggregatorChild(config(crash));
      children.push(child);
      const restarted = child;
      await eventually(`restart ${crash} restored every partition`, () =>
        ALL.every((partition) => restarted.events.some((event) => event.type === "restored" && event.partition === partition)),
      );
      // Each restore resumed from the newest complete generation there was, not from anything older.
      const resumed = new Map<number, number>();
      for (const event of restarted.events) {
        if (event.type === "restored" && !resumed.has(event.partition)) resumed.set(event.partition, event.resumeOffset);
      }
      expect(resumed).toEqual(newest);
    }
    expect(failed).toEqual([]);
    expect(children.length).toBe(6);

    const ends = await endOffsets(admin, topics.recordsTopic);
    await eventually("the last instance applied everything", () => childCaughtUp(child, ends), 180_000);
    // The final replay counts are in once the instance reported after catching up.
    await sleep(500);
    const finalRestores = restoresOf(child);
    expect(finalRestores.length).toBe(PARTITIONS);
    for (const restore of [...checkedRestores, ...finalRestores]) {
      expect(restore.replayed).toBeLessThanOrEqual(restore.endOffset - restore.resumeOffset);
    }
    // The last instance replayed exactly the tail after each generation, and generations were in use.
    for (const restore of finalRestores) expect(restore.replayed).toBe(restore.endOffset - restore.resumeOffset);
    expect(finalRestores.some((restore) => restore.resumeOffset > 0)).toBe(true);
    const totalMessages = [...ends.values()].reduce((sum, end) => sum + end, 0);
    expect(finalRestores.reduce((sum, restore) => sum + restore.endOffset - restore.resumeOffset, 0)).toBeLessThan(totalMessages);

    const digest = await child.digest();
    const truth = groundTruth(records);
    expect({ details: digest.localDetails, digest: digest.local }).toEqual({ details: truth.detailCount, digest: snapshotDigest(truth) });
    const stopped = await child.stop();
    expect(stopped.code).toBe(0);
  });
});
