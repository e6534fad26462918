import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, inject, it } from "vitest";
import { uniqueName } from "@usage-ledger/kafka-broker/testing";
import { deleteTopics, eventually, uniqueTopics } from "./support/http";

const brokers = inject("kafkaBrokers");
const repository = fileURLToPath(new URL("../../..", import.meta.url));
const mainScript = fileURLToPath(new URL("../src/main.ts", import.meta.url));

/** The main command as a child process, with its stdout kept line by line. */
interface MainProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnMain(args: string[], env: Record<string, string>): MainProcess {
  const child = spawn(process.execPath, ["--import", "tsx", mainScript, ...args], {
    cwd: repository,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => lines.push(line));
  createInterface({ input: child.stderr }).on("line", (line) => lines.push(`stderr: ${line}`));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return { child, lines, exit };
}

function valueAfter(lines: readonly string[], prefix: string): string | undefined {
  const line = lines.find((l) => l.startsWith(prefix));
  return line?.slice(prefix.length).split(" ")[0];
}

describe("the main command (issue 7, acceptance 5)", () => {
  const topics = uniqueTopics("http-main");
  const logDir = mkdtempSync(join(tmpdir(), "usage-ledger-main-smoke-"));
  let main: MainProcess | undefined;
  afterAll(async () => {
    if (main !== undefined && main.child.exitCode === null && main.child.signalCode === null) {
      main.child.kill("SIGKILL");
      await main.exit;
    }
    await deleteTopics(brokers, topics);
    rmSync(logDir, { recursive: true, force: true });
  });

  it("prints the API URL and key, serves statistics that grow while the demo fleet runs, and stops cleanly on SIGINT", async () => {
    const logFile = join(logDir, "main.log");
    main = spawnMain(
      [
        "--http-port",
        "0",
        "--records-topic",
        topics.recordsTopic,
        "--dlq-topic",
        topics.dlqTopic,
        "--snapshots-topic",
        topics.snapshotsTopic,
        "--group-id",
        uniqueName("http-main"),
        "--partitions",
        "3",
        "--snapshot-interval-ms",
        "1000",
        "--status-interval-ms",
        "500",
        "--log-file",
        logFile,
      ],
      { KAFKA_BROKERS: brokers.join(","), LEDGER_MANAGEMENT_KEY: "" },
    );
    const { lines } = main;
    await eventually("the API URL and the management key are printed", () => {
      if (main?.child.exitCode !== null) throw new Error(`main exited early:\n${lines.join("\n")}`);
      return valueAfter(lines, "usage-ledger API: ") !== undefined && valueAfter(lines, "management key: ") !== undefined;
    });
    const url = valueAfter(lines, "usage-ledger API: ")!;
    const key = valueAfter(lines, "management key: ")!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(key.length).toBeGreaterThanOrEqual(20);

    const totalRequests = async (): Promise<number> => {
      const response = await fetch(`${url}/v0/management/usage?details=false`, { headers: { authorization: `Bearer ${key}` } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { usage: { total_requests: number }; failed_requests: number };
      return body.usage.total_requests;
    };
    let first = 0;
    await eventually("records flow: total_requests above 0", async () => (first = await totalRequests()) > 0);
    await eventually("and growing", async () => (await totalRequests()) > first);

    // A wrong key is refused as CLIProxyAPI refuses it.
    const refused = await fetch(`${url}/v0/management/usage`, { headers: { authorization: "Bearer wrong" } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "invalid management key" });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await eventually("a status line is shown", () => lines.some((line) => line.startsWith("status: published ")));

    main.child.kill("SIGINT");
    const exit = await main.exit;
    expect({ exit, stopped: lines.filter((line) => /stopped/.test(line)) }).toEqual({
      exit: { code: 0, signal: null },
      stopped: [
        expect.stringMatching(/^demo fleet stopped: \d+ published \(\d+ re-sent, 0 failed\)$/),
        "aggregator stopped (final snapshot written)",
        "stopped cleanly",
      ],
    });
    expect(readFileSync(logFile, "utf8")).toContain('"msg":"stopping"');
  });
});
