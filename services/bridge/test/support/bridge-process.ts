import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

/** The real bridge (src/main.ts under tsx) in a child process, configured by environment. */
export interface BridgeProcess {
  readonly process: ChildProcess;
  /** Its log lines (pino JSON on standard output), parsed. */
  readonly lines: Array<Record<string, unknown>>;
  /** Resolves with the exit code or signal once it has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (an orderly stop), and wait until it is gone. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `src/main.ts` with `env` on top of this process's environment. */
export function spawnBridge(env: Record<string, string>): BridgeProcess {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const complete = buffered.split("\n");
    buffered = complete.pop() ?? "";
    for (const line of complete) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ text: line });
      }
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once("exit", (code, signal) => {
      if (code !== null && code !== 0 && stderr.length > 0) lines.push({ stderr: stderr.join("").slice(-4_000) });
      done({ code, signal });
    });
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  return {
    process: child,
    lines,
    exited,
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
