import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { Aggregator } from "@usage-ledger/aggregator";
import type { LocalBroker } from "@usage-ledger/kafka-broker";
import { startDedicatedBroker, testKafka } from "@usage-ledger/kafka-broker/testing";
import { formatGoRfc3339Nano, RequestStatistics, type UsageRecord } from "@usage-ledger/statistics";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { NodeMode } from "../src/node-worker";
import { spawnBridge, type BridgeProcess } from "./support/bridge-process";
import { FakeCliProxyNode, type Handout } from "./support/fake-cliproxy";
import { eventually, seededRandom, sortedDetails, startTestAggregator } from "./support/helpers";
import { fromNode, generatedPayloads, type LiteralPayload } from "./support/payloads";

const KEY = "crash-management-key";
const KILLS = 20;
const MODES: NodeMode[] = ["lpop", "subscribe", "http"];
/** Records per second fed to each node. */
const RATE = 100;

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * Issue 15, acceptance 2: the real bridge process (src/main.ts), reading three nodes (one per
 * mode) during a steady stream, is SIGKILLed at 20 random moments and started again on the same
 * spool folder; at some kills Kafka (a dedicated broker) is paused (SIGSTOP) or slow (paused in
 * short pulses). An aggregator counts. In the end, every record a node handed out and the bridge
 * confirmed having (see the fake node's ground truth) is in the aggregator's statistics exactly
 * once, and nothing is there twice.
 *
 * What TCP leaves open: a reply or push the node wrote but the killed process had not read yet is
 * gone with the process (the node counts it handed out; the bridge never had it). Such records are
 * the unconfirmed ones; the test counts them at most once and reports how many never arrived.
 */
describe("bridge: SIGKILL during a steady stream, Kafka slow or paused at some kills (issue 15, acceptance 2)", () => {
  let broker: LocalBroker | undefined;
  let aggregator: Aggregator | undefined;
  let child: BridgeProcess | undefined;
  const fakes: FakeCliProxyNode[] = [];
  let paused = false;

  beforeAll(async () => {
    broker = await startDedicatedBroker(inject("kafkaRunDir"));
  });
  afterAll(async () => {
    await child?.kill();
    if (paused && broker !== undefined) process.kill(broker.pid(), "SIGCONT");
    await aggregator?.stop();
    for (const fake of fakes) await fake.close();
    await broker?.stop();
  });

  it(`every confirmed record counted exactly once after ${KILLS} kills of the bridge process`, { timeout: 420_000 }, async () => {
    const live = broker;
    if (live === undefined) throw new Error("no broker");
    const pause = (): void => {
      process.kill(live.pid(), "SIGSTOP");
      paused = true;
    };
    const resume = (): void => {
      process.kill(live.pid(), "SIGCONT");
      paused = false;
    };
    // The broker pauses at times: a session survives a pause.
    const counting = await startTestAggregator(live.brokers, "bridge-crash", {
      snapshotIntervalMs: 2_000,
      snapshotEveryRecords: 20_000,
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
    });
    aggregator = counting.aggregator;
    const { topics } = counting;

    const feeds: LiteralPayload[][] = MODES.map((mode, index) =>
      generatedPayloads(30_000, { prefix: `crash-${mode}`, keys: 5, startSecond: 1_772_409_600 + index * 86_400 }),
    );
    for (const _mode of MODES) {
      const fake = new FakeCliProxyNode({ managementKey: KEY });
      await fake.listen();
      fakes.push(fake);
    }
    const nodes = MODES.map((mode, index) => ({ address: fakes[index]?.address ?? "", managementKey: KEY, mode, id: `crash-${mode}` }));
    let fed = 0;
    const stream = setInterval(() => {
      fakes.forEach((fake, index) => {
        const payload = feeds[index]?.[fed];
        if (payload === undefined) throw new Error("the test ran out of payloads");
        fake.enqueue(payload.json);
      });
      fed += 1;
    }, 1_000 / RATE);

    const spoolDir = mkdtempSync(join(inject("kafkaRunDir"), "bridge-crash-spool-"));
    const start = (): BridgeProcess =>
      spawnBridge({
        KAFKA_BROKERS: live.brokers.join(","),
        BRIDGE_NODES: JSON.stringify(nodes),
        BRIDGE_TOPIC: topics.recordsTopic,
        BRIDGE_DLQ_TOPIC: topics.dlqTopic,
        BRIDGE_SPOOL_DIR: spoolDir,
        BRIDGE_HOST: "127.0.0.1",
        BRIDGE_PORT: "0",
        BRIDGE_BATCH_SIZE: "20",
        BRIDGE_POLL_INTERVAL_MS: "20",
        BRIDGE_STOP_DEADLINE_MS: "120000",
        BRIDGE_LOG_LEVEL: "info",
      });
    const handedOut = (): number => fakes.reduce((sum, fake) => sum + fake.handouts.length, 0);
    const random = seededRandom(1_515);
    const styles: string[] = [];
    try {
      child = start();
      for (let kill = 1; kill <= KILLS; kill += 1) {
        const running = child;
        // Killed while it works: it has taken records from the nodes since it started.
        const before = handedOut();
        await eventually(`bridge run ${kill} takes records`, async () => {
          if (running.process.exitCode !== null) throw new Error(`the bridge exited: ${JSON.stringify(running.lines.slice(-5))}`);
          return handedOut() >= before + 3 * 30;
        });
        const style = kill % 4 === 1 ? "paused" : kill % 4 === 3 ? "slow" : "steady";
        styles.push(style);
        const moment = 100 + Math.floor(random() * 1_200);
        if (style === "paused") {
          pause();
          await sleep(moment);
        } else if (style === "slow") {
          for (let elapsed = 0; elapsed < moment; elapsed += 200) {
            pause();
            await sleep(120);
            resume();
            await sleep(80);
          }
        } else {
          await sleep(moment);
        }
        await running.kill();
        child = start();
        if (style === "paused") {
          // The new process starts while Kafka is still paused: it spools, then publishes once it is back.
          await sleep(500);
          resume();
        }
      }
      clearInterval(stream);
      const last = child;
      await eventually("the nodes are drained", () => fakes.every((fake) => fake.queued === 0));
      // An orderly stop: the spool is published before the process exits.
      const exit = await last.stop();
      expect(exit).toEqual({ code: 0, signal: null });
      expect(last.lines.filter((line) => line.msg === "bridge stopped")).toEqual([
        expect.objectContaining({ undelivered: 0, leftInSpool: 0 }) as unknown,
      ]);

      const admin = testKafka(live.brokers).admin();
      await admin.connect();
      const ends = new Map((await admin.fetchTopicOffsets(topics.recordsTopic)).map((offset) => [offset.partition, Number(offset.high)]));
      await admin.disconnect();
      const applying = counting.aggregator;
      await eventually(
        "the aggregator applied the whole records topic",
        () => {
          const progress = applying.progress();
          return [...ends].every(
            ([partition, end]) => (progress.partitions.find((p) => p.partition === partition)?.nextOffset ?? -1) >= end,
          );
        },
        180_000,
      );

      // Ground truth: what the nodes handed out. Confirmed records count exactly once; unconfirmed
      // ones (in transit at a kill) at most once.
      const served = applying.fleetStatistics().snapshot();
      const present = new Set<string>();
      for (const api of Object.values(served.apis)) {
        for (const model of Object.values(api.models)) for (const detail of model.details) present.add(detail.timestamp);
      }
      const truth = new RequestStatistics();
      let unconfirmed = 0;
      let lost = 0;
      const lostByMode: Record<string, number> = {};
      const lostPerReply = new Map<string, number>();
      MODES.forEach((_mode, index) => {
        const byJson = new Map((feeds[index] ?? []).map((payload) => [payload.json, payload.expected]));
        const fake = fakes[index];
        const record = (handout: Handout): UsageRecord => {
          const expected = byJson.get(handout.payload.toString("utf8"));
          if (expected === undefined) throw new Error("a handout the test did not feed");
          return fromNode(expected, nodes[index]?.id ?? "");
        };
        for (const handout of fake?.handouts ?? []) {
          const handed = record(handout);
          if (handout.confirmed) {
            truth.record(handed);
            continue;
          }
          unconfirmed += 1;
          if (handed.timestamp !== undefined && present.has(formatGoRfc3339Nano(handed.timestamp))) truth.record(handed);
          else {
            lost += 1;
            if (handout.via !== "push")
              lostPerReply.set(`${index}/${handout.connection}`, (lostPerReply.get(`${index}/${handout.connection}`) ?? 0) + 1);
            lostByMode[`${MODES[index] ?? ""}-${handout.via}`] = (lostByMode[`${MODES[index] ?? ""}-${handout.via}`] ?? 0) + 1;
          }
        }
      });
      expect(served.total_requests).toBe(truth.snapshot().total_requests);
      expect(sortedDetails(served)).toEqual(sortedDetails(truth.snapshot()));
      expect(applying.progress()).toMatchObject({ ignored: 0, dlq: 0 });
      // What never arrived of LPOP and HTTP replies is at most the one reply in flight when its connection's process died.
      expect([...lostPerReply.values()].filter((count) => count > 20)).toEqual([]);
      const total = fakes.reduce((sum, fake) => sum + fake.handouts.length, 0);
      expect(styles.filter((style) => style === "paused")).toHaveLength(5);
      console.info(
        `bridge crash test: ${KILLS} kills, ${total} records handed out, ${unconfirmed} unconfirmed at a kill of which ${lost} never arrived, ` +
          `${applying.progress().duplicates} duplicates removed by the aggregator ${JSON.stringify(lostByMode)}`,
      );
    } finally {
      clearInterval(stream);
    }
  });
});
