import { afterAll, describe, expect, inject, it } from "vitest";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { createRecordGenerator } from "@usage-ledger/loadgen";
import { RequestStatistics } from "@usage-ledger/statistics";
import { deleteTopics, eventually, sortedDetails, sortedSnapshotOf, startInstance, uniqueTopics, usageOf } from "./support/http";
import type { Instance } from "./support/http";

const brokers = inject("kafkaBrokers");

/** The statistics an operator exports from an old CLIProxyAPI node: 1,200 records of 4 simulated nodes. */
function exportedStatistics(): RequestStatistics {
  const statistics = new RequestStatistics();
  for (let node = 0; node < 4; node++) {
    const generator = createRecordGenerator({
      seed: 77,
      nodeIndex: node,
      nodes: 4,
      start: { epochSeconds: 1_760_000_000, nanos: 0, offsetSeconds: 0 },
      stepNs: 1_000_003,
    });
    for (let i = 0; i < 300; i++) statistics.record(generator.next());
  }
  return statistics;
}

describe("POST /v0/management/usage/import is durable (issue 7, acceptance 2)", () => {
  const topics = uniqueTopics("http-import");
  const groupId = uniqueName("http-import");
  const instances: Instance[] = [];
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await deleteTopics(brokers, topics);
  });

  it("an import through one instance is visible from a second one, and survives a restart of both", async () => {
    const source = exportedStatistics();
    const totals = source.totals();
    const exportBody = `{"version":1,"exported_at":"2026-01-01T00:00:00Z","usage":${source.snapshotJson()}}`;
    const expected = sortedSnapshotOf(source);

    const a = await startInstance({ brokers, topics, groupId, instanceId: "import-a", partitions: 4 });
    instances.push(a);
    const b = await startInstance({ brokers, topics, groupId, instanceId: "import-b", partitions: 4 });
    instances.push(b);
    await eventually(
      "both instances own partitions and are ready",
      () =>
        a.aggregator.readiness().ready &&
        b.aggregator.readiness().ready &&
        a.aggregator.ownedPartitions().length > 0 &&
        b.aggregator.ownedPartitions().length > 0 &&
        a.aggregator.ownedPartitions().length + b.aggregator.ownedPartitions().length === 4,
    );

    const imported = await a.post("/v0/management/usage/import", exportBody);
    expect(imported.status).toBe(200);
    expect(imported.body).toBe(
      `{"added":${source.detailCount},"failed_requests":${totals.failureCount},"skipped":0,"total_requests":${totals.totalRequests}}`,
    );

    // The second instance sees it: its own partitions live, the others from the first one's snapshots.
    await eventually("the import is visible from the second instance", async () => {
      const usage = usageOf((await b.get("/v0/management/usage")).body);
      return usage.total_requests === totals.totalRequests;
    });
    expect(sortedDetails(usageOf((await b.get("/v0/management/usage")).body))).toEqual(expected);
    await eventually(
      "and from the first",
      async () => usageOf((await a.get("/v0/management/usage")).body).total_requests === totals.totalRequests,
    );
    expect(sortedDetails(usageOf((await a.get("/v0/management/usage")).body))).toEqual(expected);

    // Importing the same export again through the other instance: every detail is a duplicate.
    const again = await b.post("/v0/management/usage/import", exportBody);
    expect(again.body).toBe(
      `{"added":0,"failed_requests":${totals.failureCount},"skipped":${source.detailCount},"total_requests":${totals.totalRequests}}`,
    );

    // Both stop (a final snapshot each); a new instance restores everything.
    await Promise.all([a.stop(), b.stop()]);
    const c = await startInstance({ brokers, topics, groupId, instanceId: "import-c", partitions: 4 });
    instances.push(c);
    await eventually(
      "the new instance owns every partition live",
      () => c.aggregator.readiness().ready && c.aggregator.ownedPartitions().length === 4,
    );
    await eventually(
      "the restored statistics hold the import",
      async () => usageOf((await c.get("/v0/management/usage")).body).total_requests === totals.totalRequests,
    );
    const restored = await c.get("/v0/management/usage");
    expect(sortedDetails(usageOf(restored.body))).toEqual(expected);
    expect(JSON.parse(restored.body)).toMatchObject({ failed_requests: totals.failureCount });
    // ... restored from the snapshot generations the first two wrote, not replayed from the topic.
    const restores = c.aggregator.progress().restores;
    expect(restores.reduce((sum, restore) => sum + restore.details, 0)).toBe(source.detailCount);
    expect(restores.filter((restore) => restore.details > 0 && restore.generation === undefined)).toEqual([]);
  });
});
