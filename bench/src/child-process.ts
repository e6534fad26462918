import { execFile } from "node:child_process";
import { join } from "node:path";
import { repositoryRoot } from "@usage-ledger/kafka-broker";

/**
 * Runs `bench/src/<script>` in a fresh Node process (`node [flags] --import tsx <script> <json>`)
 * and returns the JSON its last line of standard output holds. Every measured consumer run gets its
 * own process, as a deployed aggregator has: no heap, JIT state or garbage left by another run.
 */
export function runBenchChild<T>(
  script: string,
  request: unknown,
  options: { nodeFlags?: readonly string[]; timeoutMs?: number } = {},
): Promise<T> {
  const path = join(repositoryRoot, "bench", "src", script);
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [...(options.nodeFlags ?? []), "--import", "tsx", path, JSON.stringify(request)],
      { cwd: repositoryRoot, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 20 * 60_000 },
      (error, stdout, stderr) => {
        if (error) {
          fail(new Error(`${script} failed: ${error.message}\n${stderr.slice(-4000)}`));
          return;
        }
        const line = stdout.trim().split("\n").pop() ?? "";
        try {
          done(JSON.parse(line) as T);
        } catch {
          fail(new Error(`${script} printed no result: ${stdout.slice(-2000)}\n${stderr.slice(-2000)}`));
        }
      },
    );
  });
}

/** Ends a child: prints its result as the last line and exits (kafkajs may leave timers behind). */
export function finishChild(result: unknown): never {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
