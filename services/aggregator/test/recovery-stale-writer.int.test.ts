import { describe, expect, inject, it } from "vitest";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { restorePartitions } from "@usage-ledger/snapshots";
import type { AggregatorEvent } from "../src/index";
import type { ChildConfig } from "./support/aggregator-child";
import { childCaughtUp, spawnAggregatorChild } from "./support/child-process";
import type { AggregatorChild } from "./support/child-process";
import {
  aggregatorOptions,
  caughtUp,
  endOffsets,
  eventually,
  expectRestoredBeforeApplied,
  expectSameStatistics,
  startAggregator,
  useTestTopics,
} from "./support/harness";
import type { RunningAggregator } from "./support/harness";
import { groundTruth, makeRecords, publishRecords } from "./support/records";

const brokers = inject("kafkaBrokers");
const PARTITIONS = 3;
const ALL = Array.from({ length: PARTITIONS }, (_, partition) => partition);

type Restored = Extract<AggregatorEvent, { type: "restored" }>;

function restoredEvents(events: readonly AggregatorEvent[]): Restored[] {
  return events.filter((event): event is Restored => event.type === "restored");
}

describe("stale writer (issue 6, acceptance 3)", () => {
  let stale: AggregatorChild | undefined;
  let owner: RunningAggregator | undefined;
  const { topics, kafka, admin } = useTestTopics(brokers, "stale", async () => {
    if (stale !== undefined) {
      try {
        process.kill(stale.pid, "SIGCONT");
      } catch {
        // already gone
      }
      await stale.kill();
    }
    await owner?.aggregator.stop();
  });

  it("an old owner paused (SIGSTOP) across a rebalance and resumed cannot regress the state the new owner restores", async () => {
    const groupId = uniqueName("stale");
    const childConfig: ChildConfig = {
      brokers,
      instanceId: "stale-a",
      groupId,
      ...topics,
      partitions: PARTITIONS,
      // A writes nothing but its claims while it runs, so when it wakes up it holds unwritten changes.
      snapshotIntervalMs: 600_000,
      snapshotEveryRecords: 10_000_000,
      fullSnapshotEvery: 100,
      sessionTimeoutMs: 6_000,
      ...(process.env.LEDGER_TEST_LOG ? { logFile: process.env.LEDGER_TEST_LOG } : {}),
    };
    const a = await spawnAggregatorChild(childConfig);
    stale = a;
    await eventually("A restored every partition", () => restoredEvents(a.events).length === PARTITIONS);
    const first = makeRecords({ count: 4_000, seed: 61 });
    await publishRecords({ brokers, topic: topics.recordsTopic, records: first, resendRate: 0.05, seed: 62 });
    await eventually("A applied the first records", async () => childCaughtUp(a, await endOffsets(admin, topics.recordsTopic)));
    const aEpochs = new Map(restoredEvents(a.events).map((event) => [event.partition, event.claimedEpoch]));

    // A stops dead (as in a long GC pause); B joins, waits out A's session and takes every partition.
    process.kill(a.pid, "SIGSTOP");
    owner = await startAggregator(
      aggregatorOptions(brokers, topics, {
        instanceId: "stale-b",
        groupId,
        partitions: PARTITIONS,
        sessionTimeoutMs: 6_000,
        snapshotIntervalMs: 300,
      }),
    );
    const b = owner;
    await eventually(
      "B owns every partition live",
      () => b.aggregator.readiness().ready && b.aggregator.ownedPartitions().length === PARTITIONS,
    );
    const second = makeRecords({ count: 4_000, seed: 63, tag: "second-" });
    await publishRecords({ brokers, topic: topics.recordsTopic, records: second, resendRate: 0.05, seed: 64 });
    await eventually("B applied everything", () => caughtUp(admin, topics.recordsTopic, [b.aggregator]));
    const bEpochs = new Map(restoredEvents(b.events).map((event) => [event.partition, event.claimedEpoch]));
    for (const partition of ALL) expect(bEpochs.get(partition)).toBeGreaterThan(aEpochs.get(partition) ?? Number.POSITIVE_INFINITY);

    // A wakes up believing it still owns everything, and writes what it holds under its old epochs.
    const resumedAt = a.events.length;
    process.kill(a.pid, "SIGCONT");
    await eventually("A wrote its stale generations", () =>
      ALL.every((partition) =>
        a.events
          .slice(resumedAt)
          .some((event) => event.type === "snapshot" && event.partition === partition && event.epoch === aEpochs.get(partition)),
      ),
    );
    // None of them is what a restore takes: every partition restores a generation of B's epoch or newer.
    const restored = await restorePartitions({ kafka, topic: topics.snapshotsTopic, sourceTopic: topics.recordsTopic, partitions: ALL });
    for (const partition of ALL) {
      expect(restored.get(partition)?.epoch).toBeGreaterThanOrEqual(bEpochs.get(partition) ?? Number.POSITIVE_INFINITY);
    }
    // A rejoins the group: whatever it gets back it restores from B's generations, not its own.
    await eventually("A and B share the partitions, all live", () => {
      const progress = a.progress();
      const aLive = progress?.partitions.filter((partition) => partition.state === "live").length ?? 0;
      return aLive > 0 && b.aggregator.readiness().ready && aLive + b.aggregator.ownedPartitions().length === PARTITIONS;
    });
    for (const event of restoredEvents(a.events.slice(resumedAt))) {
      expect(event.epoch).toBeGreaterThanOrEqual(bEpochs.get(event.partition) ?? Number.POSITIVE_INFINITY);
    }

    const third = makeRecords({ count: 2_000, seed: 65, tag: "third-" });
    await publishRecords({ brokers, topic: topics.recordsTopic, records: third, resendRate: 0.05, seed: 66 });
    const ends = await endOffsets(admin, topics.recordsTopic);
    const aPartitions = (): number[] =>
      a.progress()?.partitions.flatMap((partition) => (partition.state === "live" ? [partition.partition] : [])) ?? [];
    await eventually("A and B applied everything", () => {
      const fromA = new Map([...ends].filter(([partition]) => aPartitions().includes(partition)));
      return (
        childCaughtUp(a, fromA) &&
        b.aggregator.progress().partitions.every((partition) => (partition.nextOffset ?? -1) >= (ends.get(partition.partition) ?? 0))
      );
    });
    // A leaves cleanly (final generations); B takes every partition back from them: exactly the distinct records.
    expect((await a.stop()).code).toBe(0);
    await eventually(
      "B owns every partition live again",
      () => b.aggregator.readiness().ready && b.aggregator.ownedPartitions().length === PARTITIONS,
    );
    await eventually("B applied everything", () => caughtUp(admin, topics.recordsTopic, [b.aggregator]));
    const truth = groundTruth([...first, ...second, ...third]);
    expectSameStatistics(b.aggregator.localStatistics(), truth);
    expectRestoredBeforeApplied(a.events);
    expectRestoredBeforeApplied(b.events);
  });
});
