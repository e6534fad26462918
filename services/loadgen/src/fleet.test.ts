import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RequestStatistics } from "@usage-ledger/statistics";
import type { StatisticsSnapshot, Timestamp, UsageRecord } from "@usage-ledger/statistics";
import { LOADGEN_ERROR_CODES, LoadgenError } from "./errors";
import { startFleet } from "./fleet";
import type { FleetOptions, LoadgenLogger, RecordSink } from "./fleet";
import { launchFleet, runFleet } from "./index";

const START: Timestamp = { epochSeconds: 1_767_225_600, nanos: 0, offsetSeconds: 0 };

const quiet: LoadgenLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Every publish a node made, in order, and whether the sink acknowledged it. */
interface Journal {
  readonly published: Map<string, UsageRecord[]>;
  closed: number;
}

/** A sink that acknowledges on the next tick (or fails when `fail` says so) and writes a journal. */
function journalSinks(journal: Journal, fail: (nodeId: string, n: number) => boolean = () => false): FleetOptions["createSink"] {
  return ({ nodeId }) => {
    const list: UsageRecord[] = [];
    journal.published.set(nodeId, list);
    const sink: RecordSink = {
      publish(record) {
        list.push(record);
        const n = list.length;
        return new Promise((resolve, reject) => {
          setImmediate(() => (fail(nodeId, n) ? reject(new Error("broker says no")) : resolve(undefined)));
        });
      },
      async close() {
        journal.closed++;
      },
    };
    return sink;
  };
}

function newJournal(): Journal {
  return { published: new Map(), closed: 0 };
}

/** A snapshot with each model's details sorted by their JSON (insertion order is not part of the comparison). */
function normalised(statistics: RequestStatistics): StatisticsSnapshot {
  const snapshot = statistics.snapshot();
  for (const api of Object.values(snapshot.apis)) {
    for (const model of Object.values(api.models)) {
      model.details.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    }
  }
  return snapshot;
}

/** What an exact consumer of everything published would hold: apply every publish, duplicates skipped. */
function appliedAll(journal: Journal): RequestStatistics {
  const statistics = new RequestStatistics();
  for (const list of journal.published.values()) for (const record of list) statistics.apply(record);
  return statistics;
}

describe("runFleet with an in-memory sink", () => {
  it("generates the records, re-sends some, and its ground truth equals applying every publish with dedup", async () => {
    const journal = newJournal();
    const { summary, groundTruth } = await runFleet({
      seed: 11,
      nodes: 3,
      records: 3001,
      resendRate: 0.1,
      start: START,
      logger: quiet,
      createSink: journalSinks(journal),
    });
    const published = [...journal.published.values()].reduce((n, list) => n + list.length, 0);
    expect(summary.generated).toBe(3001);
    expect(summary.perNode.map((n) => n.generated)).toEqual([1001, 1000, 1000]);
    expect(summary.sent).toBe(published);
    expect(summary.sent).toBe(summary.generated + summary.resent);
    expect(summary.distinct).toBe(3001);
    expect(summary.failed).toBe(0);
    expect(summary.resent / summary.generated).toBeGreaterThan(0.08);
    expect(summary.resent / summary.generated).toBeLessThan(0.12);
    expect(journal.closed).toBe(3);
    expect(groundTruth?.detailCount).toBe(3001);
    expect(normalised(groundTruth!)).toEqual(normalised(appliedAll(journal)));
    // a re-send is the very same record (same dedup key): applying it again adds nothing
    const again = appliedAll(journal);
    for (const list of journal.published.values()) for (const record of list) expect(again.apply(record)).toBe("duplicate");
  });

  it("is deterministic: same seed and start, same publishes per node", async () => {
    const first = newJournal();
    const second = newJournal();
    const options = { seed: 99, nodes: 2, records: 500, resendRate: 0.2, start: START, logger: quiet };
    await runFleet({ ...options, createSink: journalSinks(first) });
    await runFleet({ ...options, createSink: journalSinks(second) });
    expect([...second.published.entries()]).toEqual([...first.published.entries()]);
  });

  it("keeps failed publishes out of the ground truth, and counts a record once when a re-send of it succeeds", async () => {
    const journal = newJournal();
    // every 7th publish of each node fails
    const { summary, groundTruth } = await runFleet({
      seed: 3,
      nodes: 2,
      records: 2000,
      resendRate: 0.3,
      start: START,
      logger: quiet,
      createSink: journalSinks(journal, (_node, n) => n % 7 === 0),
    });
    const publishes = [...journal.published.values()].reduce((n, list) => n + list.length, 0);
    expect(summary.failed).toBe([...journal.published.values()].reduce((n, list) => n + Math.floor(list.length / 7), 0));
    expect(summary.sent + summary.failed).toBe(publishes);
    // the ground truth is exactly the distinct records with at least one acknowledged publish
    const acknowledged = new RequestStatistics();
    for (const list of journal.published.values()) list.forEach((record, i) => (i + 1) % 7 !== 0 && acknowledged.apply(record));
    expect(summary.distinct).toBe(acknowledged.detailCount);
    expect(summary.distinct).toBeLessThan(2000);
    expect(normalised(groundTruth!)).toEqual(normalised(acknowledged));
  });

  it("runs until stopped when no record count is given, and settles everything in flight", async () => {
    const journal = newJournal();
    const fleet = launchFleet({ seed: 5, nodes: 2, ratePerSecond: 2000, start: START, logger: quiet, createSink: journalSinks(journal) });
    while (fleet.progress().sent < 50) await new Promise((resolve) => setTimeout(resolve, 5));
    const { summary, groundTruth } = await fleet.stop();
    const published = [...journal.published.values()].reduce((n, list) => n + list.length, 0);
    expect(summary.sent).toBe(published);
    expect(summary.distinct).toBe(summary.generated);
    expect(groundTruth?.detailCount).toBe(summary.generated);
    expect(journal.closed).toBe(2);
  });

  it("stops on an abort signal", async () => {
    const journal = newJournal();
    const controller = new AbortController();
    const fleet = launchFleet({
      seed: 5,
      nodes: 1,
      signal: controller.signal,
      start: START,
      logger: quiet,
      createSink: journalSinks(journal),
    });
    while (fleet.progress().sent < 20) await new Promise((resolve) => setTimeout(resolve, 1));
    controller.abort();
    const { summary } = await fleet.done;
    expect(summary.sent).toBe(journal.published.get("node-0")?.length);
  });

  it("spaces timestamps by 1/rate of the fleet, so they follow the wall clock", async () => {
    const journal = newJournal();
    await runFleet({ seed: 1, nodes: 2, records: 6, ratePerSecond: 1000, start: START, logger: quiet, createSink: journalSinks(journal) });
    const nanosOf = (r: UsageRecord): number => (r.timestamp!.epochSeconds - START.epochSeconds) * 1e9 + r.timestamp!.nanos;
    expect(journal.published.get("node-0")?.map(nanosOf)).toEqual([0, 2e6, 4e6]);
    expect(journal.published.get("node-1")?.map(nanosOf)).toEqual([1e6, 3e6, 5e6]);
  });

  it("can skip the ground truth", async () => {
    const { groundTruth, summary } = await runFleet({
      seed: 1,
      nodes: 1,
      records: 10,
      groundTruth: false,
      logger: quiet,
      createSink: journalSinks(newJournal()),
    });
    expect(groundTruth).toBeUndefined();
    expect(summary.distinct).toBe(10);
  });

  it("refuses bad options with LOADGEN_INVALID_OPTIONS", () => {
    const base = { seed: 1, nodes: 1, logger: quiet, createSink: journalSinks(newJournal()) };
    const bad: Array<Partial<FleetOptions>> = [
      { nodes: 0 },
      { nodes: 1.5 },
      { seed: -1 },
      { seed: 2 ** 32 },
      { records: -1 },
      { ratePerSecond: 0 },
      { resendRate: 1.1 },
      { failureRate: -0.1 },
    ];
    for (const patch of bad) {
      expect(() => startFleet({ ...base, ...patch }), JSON.stringify(patch)).toThrow(LoadgenError);
    }
    expect(() => launchFleet({ seed: 1, nodes: 1, logger: quiet })).toThrow(/brokers are required/);
  });
});

describe("services/loadgen/README.md", () => {
  it("documents exactly the error codes", () => {
    const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
    const documented = [...readme.matchAll(/^\| `(LOADGEN_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...LOADGEN_ERROR_CODES].sort());
  });
});
