import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { isAlive, startLocalBroker, waitForMetadata } from "../src/local-broker";
import { processesMentioning } from "../src/run-processes";

const runDir = inject("kafkaRunDir");

async function eventually(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describe("the local broker", () => {
  it("runs two brokers at once on their own ports and data folders, and stop() ends exactly its pid", async () => {
    const [first, second] = await Promise.all([
      startLocalBroker({ workDir: await mkdtemp(join(runDir, "pair-a-")), heapMb: 384 }),
      startLocalBroker({ workDir: await mkdtemp(join(runDir, "pair-b-")), heapMb: 384 }),
    ]);
    try {
      expect(new Set([first.port, first.controllerPort, second.port, second.controllerPort]).size).toBe(4);
      expect(first.workDir).not.toBe(second.workDir);
      await waitForMetadata(first.brokers, 10_000);
      await waitForMetadata(second.brokers, 10_000);
      await first.stop();
      expect(isAlive(first.pid())).toBe(false);
      expect(isAlive(second.pid())).toBe(true);
      await waitForMetadata(second.brokers, 10_000);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });

  it("keeps its data across kill() and restart()", async () => {
    const broker = await startLocalBroker({ workDir: await mkdtemp(join(runDir, "restart-")), heapMb: 384 });
    try {
      const pidBefore = broker.pid();
      await broker.kill();
      expect(isAlive(pidBefore)).toBe(false);
      await broker.restart();
      expect(broker.pid()).not.toBe(pidBefore);
      await waitForMetadata(broker.brokers, 10_000);
    } finally {
      await broker.stop();
    }
  });

  it("does not outlive the process that started it, even when that process is killed with SIGKILL", async () => {
    const workDir = await mkdtemp(join(runDir, "orphan-"));
    const script = resolve(import.meta.dirname, "start-broker-child.ts");
    const child = spawn(process.execPath, ["--import", "tsx", script, workDir], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    await eventually("the child's broker to start", () => output.includes("pid="), 120_000);
    const pid = Number(/pid=(\d+)/.exec(output)?.[1]);
    expect(isAlive(pid)).toBe(true);
    child.kill("SIGKILL");
    await eventually("the orphaned broker to be ended by its watchdog", () => !isAlive(pid));
    await eventually("no process of that broker left", () => processesMentioning(workDir).length === 0);
  });
});
