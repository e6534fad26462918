import { execSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";

/** The folder benchmark results go to. */
export const resultsDir = resolve(import.meta.dirname, "..", "results");

/** What a benchmark ran on: every results file carries it. */
export interface MachineDescription {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly java: string;
  readonly platform: string;
}

/** Describes this machine. */
export function describeMachine(): MachineDescription {
  const processors = cpus();
  let java = "";
  try {
    java = execSync("java -version 2>&1", { encoding: "utf8" }).split("\n")[0]?.trim() ?? "";
  } catch {
    java = "not found";
  }
  return {
    cpu: processors[0]?.model.trim() ?? "unknown",
    cores: processors.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    java,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The median of several runs, with its spread. */
export interface Measured {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number[];
}

/** Summarises the values of several runs. */
export function measured(runs: number[]): Measured {
  if (runs.length === 0) throw new Error("no runs to summarise");
  const sorted = [...runs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return { median, min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0, runs };
}

/** Runs `body` `times` times (after `warmups` unmeasured runs) and summarises what it returns. */
export async function repeat(times: number, body: () => number | Promise<number>, warmups = 0): Promise<Measured> {
  for (let index = 0; index < warmups; index += 1) await body();
  const runs: number[] = [];
  for (let index = 0; index < times; index += 1) runs.push(await body());
  return measured(runs);
}

/** A row of a results table: a key, its measured value, a unit and an optional target. */
export interface ResultRow {
  readonly key: string;
  readonly value: Measured;
  readonly unit: string;
  readonly target?: string;
}

/**
 * Writes `<dir>/<name>.json` (default `bench/results/`): every key as its median (the keys the
 * issues name), plus the spread of each under `detail`, and the machine. Returns the markdown
 * table it also prints.
 */
export function writeResults(name: string, rows: ResultRow[], extra: Record<string, unknown> = {}, dir: string = resultsDir): string {
  mkdirSync(dir, { recursive: true });
  const machine = describeMachine();
  const flat: Record<string, unknown> = {};
  for (const row of rows) flat[row.key] = round(row.value.median);
  const detail = Object.fromEntries(
    rows.map((row) => [
      row.key,
      {
        median: round(row.value.median),
        min: round(row.value.min),
        max: round(row.value.max),
        runs: row.value.runs.map(round),
        unit: row.unit,
      },
    ]),
  );
  const document = { ...flat, ...extra, machine, detail, written_at: new Date().toISOString() };
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(document, null, 2)}\n`);
  const table = markdownTable(rows);
  console.log(`\n${name} (${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node})\n\n${table}`);
  return table;
}

/** A markdown table of result rows: median, min, max, unit, target. */
function markdownTable(rows: ResultRow[]): string {
  const lines = ["| metric | median | min | max | unit | target |", "|---|---:|---:|---:|---|---|"];
  for (const row of rows) {
    lines.push(
      `| ${row.key} | ${format(row.value.median)} | ${format(row.value.min)} | ${format(row.value.max)} | ${row.unit} | ${row.target ?? ""} |`,
    );
  }
  return lines.join("\n");
}

function round(value: number): number {
  return Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
}

function format(value: number): string {
  return round(value).toLocaleString("en-US");
}

/** mulberry32: a small seeded PRNG, so every run of a benchmark measures the same records. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
