import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MAX_PRICED_MODELS, parsePriceTable, PriceTableProblem } from "./price-table";
import type { ModelPrice, PriceTable } from "./price-table";

/** The price table in force and where it comes from. */
export interface PricesState {
  readonly table: PriceTable;
  /** `file`: the table of the price file (nobody edited prices); `topic`: the fleet's edited table. */
  readonly origin: "file" | "topic";
  /** When the table in force was written to the topic (RFC 3339), or null for the file's table. */
  readonly updatedAt: string | null;
}

/**
 * The fleet's price table as the HTTP API and the cost metric use it: read, replace, update, reset.
 * The Kafka-backed one (price-store.ts) persists edits on a compacted topic that every instance follows.
 */
export interface PriceBook {
  current(): PricesState;
  /** Replaces the whole table (durably, for the fleet). */
  replace(table: PriceTable): Promise<PricesState>;
  /** Sets (or, with null, removes) the prices of some models. */
  update(changes: ReadonlyMap<string, ModelPrice | null>): Promise<PricesState>;
  /** Drops the edits: the price file's table is in force again. */
  reset(): Promise<PricesState>;
}

/** The shipped default table (services/aggregator/prices/default-prices.json). */
export const DEFAULT_PRICES_FILE = resolve(import.meta.dirname, "..", "..", "prices", "default-prices.json");

/** Reads and validates a price file; the error names the file and each problem. */
export function loadPriceFile(path: string): PriceTable {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new PriceTableProblem([`price file ${path}: ${error instanceof Error ? error.message : String(error)}`]);
  }
  try {
    return parsePriceTable(json);
  } catch (error) {
    if (error instanceof PriceTableProblem) throw new PriceTableProblem(error.problems.map((problem) => `price file ${path}: ${problem}`));
    throw error;
  }
}

/** `table` with `changes` applied (a null change removes the model); marked as edited. */
export function applyPriceChanges(table: PriceTable, changes: ReadonlyMap<string, ModelPrice | null>): PriceTable {
  const models = new Map(table.models);
  for (const [name, price] of changes) {
    if (price === null) models.delete(name);
    else models.set(name, price);
  }
  if (models.size > MAX_PRICED_MODELS) throw new PriceTableProblem([`models: at most ${MAX_PRICED_MODELS} models`]);
  return { asOf: table.asOf, source: table.source, models };
}

/** A price book in memory only (edits last until the process ends): for tests and a bare `buildApp`. */
export function memoryPriceBook(fileTable: PriceTable): PriceBook {
  let state: PricesState = { table: fileTable, origin: "file", updatedAt: null };
  const set = async (table: PriceTable | null): Promise<PricesState> => {
    state =
      table === null
        ? { table: fileTable, origin: "file", updatedAt: null }
        : { table, origin: "topic", updatedAt: new Date().toISOString() };
    return state;
  };
  return {
    current: () => state,
    replace: (table) => set(table),
    update: (changes) => set(applyPriceChanges(state.table, changes)),
    reset: () => set(null),
  };
}
