import { afterAll, describe, expect, inject, it } from "vitest";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { runFleet } from "@usage-ledger/loadgen";
import { deleteTopics, eventually, sortedDetails, sortedSnapshotOf, startInstance, uniqueTopics, usageOf } from "./support/http";
import type { Instance } from "./support/http";

const brokers = inject("kafkaBrokers");
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe("GET /v0/management/usage is fleet-wide (issue 7, acceptance 3)", () => {
  const topics = uniqueTopics("http-fleet");
  const groupId = uniqueName("http-fleet");
  const instances: Instance[] = [];
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await deleteTopics(brokers, topics);
  });

  it("two instances, each owning half the partitions, answer the same statistics: those of the distinct records", async () => {
    const a = await startInstance({ brokers, topics, groupId, instanceId: "fleet-a", partitions: 6 });
    instances.push(a);
    const b = await startInstance({ brokers, topics, groupId, instanceId: "fleet-b", partitions: 6 });
    instances.push(b);
    await eventually(
      "each instance owns half the partitions, live",
      () =>
        a.aggregator.readiness().ready &&
        b.aggregator.readiness().ready &&
        a.aggregator.ownedPartitions().length === 3 &&
        b.aggregator.ownedPartitions().length === 3,
    );
    const owned = [...a.aggregator.ownedPartitions(), ...b.aggregator.ownedPartitions()].sort();
    expect(owned).toEqual([0, 1, 2, 3, 4, 5]);

    const { summary, groundTruth } = await runFleet({
      brokers,
      topic: topics.recordsTopic,
      nodes: 3,
      records: 6000,
      resendRate: 0.05,
      seed: 31,
      logger: quiet,
    });
    expect(summary.failed).toBe(0);
    const truth = groundTruth!.totals();

    // Once a snapshot interval has passed, each sees the other's partitions through their generations.
    for (const instance of [a, b]) {
      await eventually(`${instance.aggregator.ownedPartitions().join(",")} see the whole fleet`, async () => {
        return usageOf((await instance.get("/v0/management/usage")).body).total_requests === truth.totalRequests;
      });
    }
    const [fromA, fromB] = await Promise.all([a.get("/v0/management/usage"), b.get("/v0/management/usage")]);
    expect(fromA.status).toBe(200);
    expect(fromB.status).toBe(200);
    // The same answer from both, byte for byte: per model, details come from one partition in offset order.
    expect(fromA.body).toBe(fromB.body);
    expect(JSON.parse(fromA.body)).toMatchObject({ failed_requests: truth.failureCount });
    // ... and it is exactly the statistics of the distinct records published.
    expect(sortedDetails(usageOf(fromA.body))).toEqual(sortedSnapshotOf(groundTruth!));
    // Each applied only its own half: together exactly the distinct records, every re-send skipped.
    const counts = (): { applied: number; duplicates: number } => ({
      applied: a.aggregator.progress().applied + b.aggregator.progress().applied,
      duplicates: a.aggregator.progress().duplicates + b.aggregator.progress().duplicates,
    });
    await eventually("every re-send consumed", () => counts().duplicates >= summary.resent);
    expect(counts()).toEqual({ applied: summary.distinct, duplicates: summary.resent });
    expect(a.aggregator.progress().applied).toBeGreaterThan(0);
    expect(b.aggregator.progress().applied).toBeGreaterThan(0);
    // Each rebuilt only the other's partitions from the snapshot topic, never its own.
    expect(a.aggregator.progress().followedPartitions).toEqual(b.aggregator.ownedPartitions());
    expect(b.aggregator.progress().followedPartitions).toEqual(a.aggregator.ownedPartitions());
  });
});
