import { startFleet } from "./fleet";
import type { FleetHandle, FleetOptions, FleetResult } from "./fleet";
import { publisherSink } from "./publisher-sink";

export type { FleetHandle, FleetOptions, FleetResult, LoadgenLogger } from "./fleet";
export { createRecordGenerator } from "./generator";
export type { RecordGenerator } from "./generator";
function defaultSink(options: FleetOptions): FleetOptions["createSink"] {
  const brokers = options.brokers;
  if (brokers === undefined || brokers.length === 0) return undefined;
  return ({ nodeId }) =>
    publisherSink({
      brokers,
      nodeId,
      logger: options.logger,
      ...(options.topic !== undefined ? { topic: options.topic } : {}),
      ...(options.security !== undefined ? { security: options.security } : {}),
    });
}

/**
 * Starts a simulated fleet of proxy nodes publishing to Kafka through packages/publisher (or to
 * `createSink`), and returns a handle with live progress, `stop()` and `done`. Throws
 * `LOADGEN_INVALID_OPTIONS` for bad options.
 */
export function launchFleet(options: FleetOptions): FleetHandle {
  return startFleet(options, defaultSink(options));
}

/**
 * Runs a simulated fleet until `records` distinct records are generated (or `signal` aborts) and
 * every publish has settled; resolves with the summary and the ground truth.
 */
export function runFleet(options: FleetOptions): Promise<FleetResult> {
  return launchFleet(options).done;
}
