/**
 * The default topic names of the ledger. Every service, the publisher and the snapshot package
 * take their defaults from here; an operator may rename each one (the settings say how).
 */
export const DEFAULT_TOPICS = Object.freeze({
  /** Usage records (and import batches): one per upstream request, keyed by the statistics key. */
  records: "usage.records",
  /** Records that could not be decoded or applied, with the reason in {@link DLQ_HEADERS}. */
  dlq: "usage.records.dlq",
  /** The compacted topic holding the snapshot generations. */
  snapshots: "usage.snapshots",
  /** The compacted topic holding the fleet's edited price table (the dashboard's cost). */
  prices: "usage.prices",
} as const);

/**
 * Headers of a record on the dead-letter topic (values are UTF-8 text). The record keeps its
 * original key, value and headers; the aggregator adds `reason`, `message` and the three `source*`
 * position headers, the bridge adds `reason`, `message`, `sourceNode`, `sourceMode` and `producer`.
 * One reader of the dead-letter topic therefore sees the reason of both the same way.
 */
export const DLQ_HEADERS = Object.freeze({
  /** The reason code: a `WIRE_*`, `STATS_*`, `PUBLISHER_*` or `AGGREGATOR_APPLY_FAILED` code. */
  reason: "dlq.reason",
  /** The error message that goes with the reason code. */
  message: "dlq.message",
  /** Topic the record was consumed from (aggregator). */
  sourceTopic: "dlq.source.topic",
  /** Partition of the source topic, decimal (aggregator). */
  sourcePartition: "dlq.source.partition",
  /** Offset of the record in that partition, decimal (aggregator). */
  sourceOffset: "dlq.source.offset",
  /** `host:port` of the CLIProxyAPI node the message came from (bridge). */
  sourceNode: "dlq.source.node",
  /** How the bridge read it from the node: `lpop`, `subscribe` or `http` (bridge). */
  sourceMode: "dlq.source.mode",
  /** Who wrote the letter when it did not come from a topic: `bridge`. */
  producer: "dlq.producer",
} as const);
