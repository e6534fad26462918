import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePythonReaderEnv, runPython } from "../../../../tools/python-reader/test/support/python-env";
import type { TestTopics } from "./harness";

/** What the Python reader says it did with one source partition (its `--report`). */
interface PythonPartitionReport {
  readonly partition: number;
  readonly epoch: number | null;
  readonly generation: number | null;
  readonly resume_offset: number;
  readonly restored_details: number;
  readonly rejected: readonly [string, string][];
  readonly counts: {
    readonly added: number;
    readonly duplicates: number;
    readonly ignored: number;
    readonly import_batches: number;
    readonly dead_letters: readonly [number, number, string][];
  };
}

/** The Python reader's output: the fleet's statistics snapshot JSON and its report. */
export interface PythonReaderResult {
  readonly json: string;
  readonly partitions: readonly PythonPartitionReport[];
}

/** The venv's Python (built on first use; see tools/python-reader/test/support/python-env.ts). */
export function pythonReaderPython(): string {
  return ensurePythonReaderEnv();
}

/**
 * Runs tools/python-reader against the broker: the fleet rebuilt from the snapshot topic, and with
 * `replay` the records after each partition's generation too. Fails with the reader's stderr when
 * it does not exit 0.
 */
export async function runPythonReader(
  python: string,
  brokers: readonly string[],
  topics: TestTopics,
  options: { readonly replay: boolean },
): Promise<PythonReaderResult> {
  const folder = mkdtempSync(join(tmpdir(), "python-reader-"));
  const reportFile = join(folder, "report.json");
  try {
    const args = ["-m", "usage_ledger_reader", "--bootstrap-servers", brokers.join(",")];
    args.push("--records-topic", topics.recordsTopic, "--snapshots-topic", topics.snapshotsTopic, "--report", reportFile);
    if (!options.replay) args.push("--no-replay");
    const run = await runPython(python, args);
    if (run.code !== 0) throw new Error(`the Python reader exited with ${String(run.code)}:\n${run.stderr}`);
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as { partitions: PythonPartitionReport[] };
    return { json: run.stdout, partitions: report.partitions };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
