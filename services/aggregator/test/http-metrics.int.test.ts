import { Partitioners } from "kafkajs";
import { afterAll, describe, expect, inject, it } from "vitest";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { runFleet } from "@usage-ledger/loadgen";
import { SINGLE_OBJECT_MARKER } from "@usage-ledger/wire";
import { deleteTopics, eventually, quietKafka, startInstance, uniqueTopics } from "./support/http";
import type { Instance } from "./support/http";

const brokers = inject("kafkaBrokers");
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The samples of a Prometheus text exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

describe("GET /metrics after a known stream (issue 7, acceptance 4)", () => {
  const topics = uniqueTopics("http-metrics");
  let instance: Instance | undefined;
  afterAll(async () => {
    await instance?.stop();
    await deleteTopics(brokers, topics);
  });

  it("shows the records applied, the duplicates skipped and the DLQ records by reason", async () => {
    instance = await startInstance({ brokers, topics, groupId: uniqueName("http-metrics"), instanceId: "metrics-a", partitions: 3 });
    const { aggregator } = instance;
    await eventually("all partitions live", () => aggregator.readiness().ready && aggregator.ownedPartitions().length === 3);

    const { summary } = await runFleet({
      brokers,
      topic: topics.recordsTopic,
      nodes: 2,
      records: 2500,
      resendRate: 0.1,
      seed: 5,
      logger: quiet,
    });
    expect(summary.failed).toBe(0);
    expect(summary.resent).toBeGreaterThan(100);

    // Poison among the records: 3 messages that are not single-object encoded, 2 with an unknown schema fingerprint.
    const producer = quietKafka(brokers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const unknownFingerprint = Buffer.concat([
      Buffer.from(SINGLE_OBJECT_MARKER),
      Buffer.from("0123456789abcdef", "hex"),
      Buffer.from([2, 4, 6]),
    ]);
    await producer.send({
      topic: topics.recordsTopic,
      acks: -1,
      messages: [
        { key: "poison-1", value: Buffer.from("not avro at all") },
        { key: "poison-2", value: Buffer.from('{"api_key":"json"}') },
        { key: "poison-3", value: Buffer.from([0xc3]) },
        { key: "poison-4", value: unknownFingerprint },
        { key: "poison-5", value: unknownFingerprint },
      ],
    });
    await producer.disconnect();

    await eventually(
      "the whole stream consumed",
      () =>
        aggregator.progress().applied === summary.distinct &&
        aggregator.progress().duplicates === summary.resent &&
        aggregator.progress().dlq === 5,
    );
    const response = await instance.app.inject({ method: "GET", url: "/metrics" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/plain/);
    const metrics = samples(response.body);
    expect(metrics.get("usage_ledger_records_applied_total")).toBe(2500);
    expect(metrics.get("usage_ledger_duplicates_skipped_total")).toBe(summary.resent);
    const dlq = [...metrics].filter(([name]) => name.startsWith("usage_ledger_dlq_records_total{"));
    expect(Object.fromEntries(dlq)).toEqual({
      'usage_ledger_dlq_records_total{reason="WIRE_BAD_MARKER"}': 2,
      'usage_ledger_dlq_records_total{reason="WIRE_TRUNCATED"}': 1,
      'usage_ledger_dlq_records_total{reason="WIRE_UNKNOWN_FINGERPRINT"}': 2,
    });
    // Everything consumed: no lag on any of the 3 partitions.
    const lag = [...metrics].filter(([name]) => name.startsWith("usage_ledger_consumer_lag{"));
    expect(lag.map(([, value]) => value)).toEqual([0, 0, 0]);
  });
});
