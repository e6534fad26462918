import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { AggregatorEvent, AggregatorProgress } from "../../src/index";
import type { ChildConfig, ChildMessage, ChildRequest } from "./aggregator-child";
import { eventually } from "./harness";

const CHILD_SCRIPT = fileURLToPath(new URL("./aggregator-child.ts", import.meta.url));
const TSX_LOADER = "tsx";

/** An aggregator running in a child process, with what it reported. */
export interface AggregatorChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Its event log, in order. */
  readonly events: AggregatorEvent[];
  /** Its latest progress report. */
  progress(): AggregatorProgress | undefined;
  /** Lines it wrote to standard output. */
  readonly stdout: string[];
  /** Resolves with the exit code or signal once it has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Asks for the digests of its local and fleet statistics. */
  digest(): Promise<Extract<ChildMessage, { type: "digest" }>>;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a clean stop with final generations), and wait until it is gone. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `test/support/aggregator-child.ts` under tsx; resolves once its aggregator has started. */
export async function spawnAggregatorChild(config: ChildConfig): Promise<AggregatorChild> {
  const child = spawn(process.execPath, ["--import", TSX_LOADER, CHILD_SCRIPT], {
    env: { ...process.env, LEDGER_CHILD_CONFIG: JSON.stringify(config) },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const events: AggregatorEvent[] = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  let latest: AggregatorProgress | undefined;
  let started = false;
  let failure: string | undefined;
  const digestWaiters: Array<(message: Extract<ChildMessage, { type: "digest" }>) => void> = [];
  child.on("message", (message: ChildMessage) => {
    switch (message.type) {
      case "started":
        started = true;
        break;
      case "event":
        events.push(message.event);
        break;
      case "progress":
        latest = message.progress;
        break;
      case "digest":
        digestWaiters.shift()?.(message);
        break;
      case "error":
        failure = message.message;
        break;
    }
  });
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    stdout.push(...lines);
  });
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once("exit", (code, signal) => done({ code, signal }));
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await eventually(`child ${config.instanceId} started`, () => {
    if (failure !== undefined) throw new Error(`child ${config.instanceId} failed: ${failure}`);
    if (gone && !started) throw new Error(`child ${config.instanceId} exited before starting: ${stderr.join("").slice(-4_000)}`);
    return started;
  });
  return {
    process: child,
    pid: child.pid ?? 0,
    events,
    progress: () => latest,
    stdout,
    exited,
    digest: () =>
      new Promise((done) => {
        digestWaiters.push(done);
        child.send({ type: "digest" } satisfies ChildRequest);
      }),
    async kill() {
      if (!gone) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (!gone) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** True when the child owns every partition live, each at its end offset. */
export function childCaughtUp(child: AggregatorChild, ends: ReadonlyMap<number, number>): boolean {
  const progress = child.progress();
  if (progress === undefined) return false;
  const next = new Map(progress.partitions.map((partition) => [partition.partition, partition.nextOffset]));
  for (const [partition, end] of ends) {
    const offset = next.get(partition);
    if (offset === undefined || offset < end) return false;
  }
  return true;
}
