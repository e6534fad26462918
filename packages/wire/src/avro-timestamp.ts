import type { Timestamp } from "@usage-ledger/statistics";

/** The `dev.usageledger.Timestamp` record as avsc reads and writes it. */
export interface AvroTimestamp {
  epoch_seconds: number;
  nanos: number;
  offset_seconds: number;
}

/** A timestamp as its Avro record. */
export function toAvroTimestamp(ts: Timestamp): AvroTimestamp {
  return { epoch_seconds: ts.epochSeconds, nanos: ts.nanos, offset_seconds: ts.offsetSeconds };
}

/** An Avro timestamp record as a timestamp. */
export function fromAvroTimestamp(ts: AvroTimestamp): Timestamp {
  return { epochSeconds: ts.epoch_seconds, nanos: ts.nanos, offsetSeconds: ts.offset_seconds };
}
