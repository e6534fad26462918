import { createRecordGenerator } from "@usage-ledger/loadgen";
import type { RecordGenerator } from "@usage-ledger/loadgen";
import { createPartitionRouter } from "@usage-ledger/aggregator";
import { statisticsKey } from "@usage-ledger/publisher";
import type { Timestamp, UsageRecord } from "@usage-ledger/statistics";

/**
 * The benchmark's records: services/loadgen's simulated fleet (4 nodes, 200 Zipf API keys,
 * weighted models, log-normal tokens, ~3% failures, nanosecond timestamps in each node's own UTC
 * offset), generated in timestamp order, the same for every run (fixed seed and start). Record `i`
 * of one stream is always the same record, so a scenario can regenerate any prefix instead of
 * holding a million records in memory.
 */

/** Seed of every benchmark stream. */
const BENCH_SEED = 20_260_110;
/** The fleet's first timestamp: 2026-01-10T00:00:00Z. */
const BENCH_START: Timestamp = { epochSeconds: 1_768_003_200, nanos: 0, offsetSeconds: 0 };
/** The simulated fleet's rate (records per second of record time): 1,000,000 records span ~2.8 hours. */
const STEP_NS = 10_000_000;
const NODES = 4;

/** An endless, deterministic stream of distinct records (no two share the seed's dedup key). */
export class RecordStream {
  private readonly generators: RecordGenerator[];
  private index = 0;

  constructor(seed: number = BENCH_SEED) {
    this.generators = Array.from({ length: NODES }, (_, nodeIndex) =>
      createRecordGenerator({ seed, nodeIndex, nodes: NODES, start: BENCH_START, stepNs: STEP_NS }),
    );
  }

  /** Records made so far. */
  get produced(): number {
    return this.index;
  }

  /** The next record (round-robin over the nodes, so timestamps increase). */
  next(): UsageRecord {
    const generator = this.generators[this.index % NODES]!;
    this.index += 1;
    return generator.next();
  }

  /** The next `count` records. */
  take(count: number): UsageRecord[] {
    const records = new Array<UsageRecord>(count);
    for (let i = 0; i < count; i++) records[i] = this.next();
    return records;
  }
}

/** The message key of a record: its statistics key, as the publisher keys it. */
export const messageKey: (record: UsageRecord) => string = statisticsKey;

/** The partition kafkajs's DefaultPartitioner (murmur2, as the publisher uses) picks for a key (memoised: a fleet has few keys). */
export function partitionRouter(partitions: number): (key: string) => number {
  const route = createPartitionRouter(partitions);
  const known = new Map<string, number>();
  return (key) => {
    let partition = known.get(key);
    if (partition === undefined) {
      partition = route(key);
      known.set(key, partition);
    }
    return partition;
  };
}
