import { Counter, Gauge, Registry } from "prom-client";

/** The bridge's Prometheus metrics, every one labelled by `node` (the node's address). */
export interface BridgeMetrics {
  readonly registry: Registry;
  /** Messages taken from a node (LPOP, HTTP pop or pub/sub), control payloads included. */
  readonly popped: Counter<"node">;
  /** Usage records acknowledged by Kafka on usage.records. */
  readonly published: Counter<"node">;
  /** Publish attempts of a record that failed (each is retried until it succeeds or the bridge stops). */
  readonly failed: Counter<"node">;
  /** Messages written to the dead-letter topic, by reason code. */
  readonly deadLettered: Counter<"node" | "reason">;
  /** Control payloads (`{"support_refresh":true}`, `{"refresh":true}`) seen and skipped. */
  readonly control: Counter<"node">;
  /** Authentication attempts and failures (a wrong key, or a ban). */
  readonly authAttempts: Counter<"node">;
  readonly authFailures: Counter<"node" | "reason">;
  /** Sessions that ended in an error and were reconnected after a backoff. */
  readonly reconnects: Counter<"node">;
  /** Unix time (seconds) of the node's last successful cycle: a spooled batch Kafka acknowledged. */
  readonly lastSuccess: Gauge<"node">;
  /** 1 while the node is connected and authenticated, else 0. */
  readonly up: Gauge<"node">;
  /** Records in the node's spool that Kafka has not acknowledged yet, and their bytes. */
  readonly spoolRecords: Gauge<"node">;
  readonly spoolBytes: Gauge<"node">;
  /** Damaged stretches found in the spool at start-up (set aside and reported). */
  readonly spoolDamaged: Counter<"node">;
  /** 1 while the node is drained with LPOP because it does not support its configured mode. */
  readonly modeFallback: Gauge<"node" | "configured">;
}

/** Creates the metrics in `registry` (a new one by default). */
export function createBridgeMetrics(registry: Registry = new Registry()): BridgeMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new Counter({ name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    new Gauge({ name, help, labelNames, registers });
  return {
    registry,
    popped: counter("bridge_records_popped_total", "Messages taken from the node's usage queue (control payloads included).", ["node"]),
    published: counter("bridge_records_published_total", "Usage records acknowledged by Kafka on the records topic.", ["node"]),
    failed: counter(
      "bridge_records_failed_total",
      "Failed publish attempts of a record (retried until acknowledged or the bridge stops).",
      ["node"],
    ),
    deadLettered: counter("bridge_records_dlq_total", "Malformed messages written to the dead-letter topic.", ["node", "reason"]),
    control: counter("bridge_control_messages_total", "Control payloads of SUBSCRIBE usage, skipped.", ["node"]),
    authAttempts: counter("bridge_auth_attempts_total", "Management-key authentication attempts.", ["node"]),
    authFailures: counter("bridge_auth_failures_total", "Refused authentication attempts (wrong key, ban).", ["node", "reason"]),
    reconnects: counter("bridge_reconnects_total", "Sessions ended by an error and retried after a backoff.", ["node"]),
    lastSuccess: gauge("bridge_last_success_timestamp_seconds", "Unix time of the node's last fully acknowledged pop.", ["node"]),
    up: gauge("bridge_node_up", "1 while the node is connected and authenticated.", ["node"]),
    spoolRecords: gauge("bridge_spool_records", "Records in the node's spool not yet acknowledged by Kafka.", ["node"]),
    spoolBytes: gauge("bridge_spool_bytes", "Bytes of the node's spool entries not yet acknowledged by Kafka.", ["node"]),
    spoolDamaged: counter("bridge_spool_damaged_total", "Damaged spool stretches found at start-up, set aside and reported.", ["node"]),
    modeFallback: gauge("bridge_mode_fallback", "1 while the node is drained with LPOP because it does not support its configured mode.", [
      "node",
      "configured",
    ]),
  };
}
