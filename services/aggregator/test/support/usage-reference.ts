import type { DetailColumns } from "@usage-ledger/statistics";

/**
 * The dashboard's figures computed the plain way, detail by detail (what the aggregates must equal):
 * the ground truth of the insights tests and the browser tests.
 */

/** Per-1M-token prices of the reference (the same rule as src/prices/price-table.ts, written out). */
export interface ReferencePrice {
  readonly input: number;
  readonly output: number;
  readonly cachedInput: number;
  readonly reasoning?: number;
}

/** Sums of a set of details. */
export interface ReferenceTotals {
  requests: number;
  failure: number;
  tokens: number;
  input: number;
  output: number;
  cached: number;
  reasoning: number;
  cost: number;
  latencySum: number;
  latencySamples: number;
}

function zero(): ReferenceTotals {
  return { requests: 0, failure: 0, tokens: 0, input: 0, output: 0, cached: 0, reasoning: 0, cost: 0, latencySum: 0, latencySamples: 0 };
}

/** One detail, read from the columns. */
export interface ReferenceDetail {
  readonly api: string;
  readonly model: string;
  readonly source: string;
  readonly authIndex: string;
  readonly epochMs: number;
  readonly epochSeconds: number;
  readonly nanos: number;
  readonly failed: boolean;
  readonly latencyMs: number;
  readonly input: number;
  readonly output: number;
  readonly reasoning: number;
  readonly cached: number;
  readonly total: number;
}

/** The details of a batch, one object each. */
export function referenceDetails(columns: DetailColumns): ReferenceDetail[] {
  const details: ReferenceDetail[] = [];
  for (let row = 0; row < columns.count; row++) {
    details.push({
      api: columns.strings[columns.api[row]!]!,
      model: columns.strings[columns.model[row]!]!,
      source: columns.strings[columns.source[row]!]!,
      authIndex: columns.strings[columns.authIndex[row]!]!,
      epochMs: columns.epochSeconds[row]! * 1000 + Math.floor(columns.nanos[row]! / 1e6),
      epochSeconds: columns.epochSeconds[row]!,
      nanos: columns.nanos[row]!,
      failed: columns.failed[row] === 1,
      latencyMs: columns.latencyMs[row]!,
      input: columns.inputTokens[row]!,
      output: columns.outputTokens[row]!,
      reasoning: columns.reasoningTokens[row]!,
      cached: columns.cachedTokens[row]!,
      total: columns.totalTokens[row]!,
    });
  }
  return details;
}

/** The USD cost of one detail, or 0 without a price. */
export function referenceCost(detail: ReferenceDetail, price: ReferencePrice | undefined): number {
  if (price === undefined) return 0;
  const input = Math.max(0, detail.input);
  const cached = Math.max(0, detail.cached);
  const uncached = Math.max(0, input - cached);
  const reasoning = price.reasoning === undefined ? 0 : Math.max(0, detail.reasoning) * price.reasoning;
  return (uncached * price.input + cached * price.cachedInput + Math.max(0, detail.output) * price.output + reasoning) / 1e6;
}

/** Sums the details. */
export function referenceTotals(details: readonly ReferenceDetail[], prices: ReadonlyMap<string, ReferencePrice>): ReferenceTotals {
  const totals = zero();
  for (const detail of details) {
    totals.requests += 1;
    if (detail.failed) totals.failure += 1;
    totals.tokens += Math.max(0, detail.total);
    totals.input += Math.max(0, detail.input);
    totals.output += Math.max(0, detail.output);
    totals.cached += Math.max(0, detail.cached);
    totals.reasoning += Math.max(0, detail.reasoning);
    totals.cost += referenceCost(detail, prices.get(detail.model));
    if (detail.latencyMs > 0) {
      totals.latencySum += detail.latencyMs;
      totals.latencySamples += 1;
    }
  }
  return totals;
}

/** Sums per group. */
export function referenceGroups(
  details: readonly ReferenceDetail[],
  groupOf: (detail: ReferenceDetail) => string,
  prices: ReadonlyMap<string, ReferencePrice>,
): Map<string, ReferenceTotals> {
  const groups = new Map<string, ReferenceDetail[]>();
  for (const detail of details) {
    const key = groupOf(detail);
    let list = groups.get(key);
    if (list === undefined) {
      list = [];
      groups.set(key, list);
    }
    list.push(detail);
  }
  return new Map([...groups].map(([key, list]) => [key, referenceTotals(list, prices)]));
}

const HOUR_MS = 3_600_000;

/** The first instant a range covers at `nowMs` (whole hours: the current hour and the ones before it). */
export function referenceRangeStart(range: "7h" | "24h" | "7d" | "all", nowMs: number): number {
  const hours = { "7h": 7, "24h": 24, "7d": 168, all: Number.POSITIVE_INFINITY }[range];
  return hours === Number.POSITIVE_INFINITY ? Number.NEGATIVE_INFINITY : (Math.floor(nowMs / HOUR_MS) - hours + 1) * HOUR_MS;
}

/** The details from `startMs` on (whole seconds decide, as the hour buckets do). */
export function referenceSince(details: readonly ReferenceDetail[], startMs: number): ReferenceDetail[] {
  return details.filter((detail) => detail.epochSeconds * 1000 >= startMs);
}
