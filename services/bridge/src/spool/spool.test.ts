import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { isBridgeError } from "../errors";
import { Spool, type SpoolOptions } from "./spool";
import type { SpooledMessage } from "./spool-format";

const logger = pino({ level: "silent" });
const dirs: string[] = [];
const spools: Spool[] = [];

afterEach(async () => {
  for (const spool of spools.splice(0)) await spool.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "bridge-spool-"));
  dirs.push(dir);
  return join(dir, "node-a");
}

/** Opens a spool; a second open of the same folder without close() is what a restart after SIGKILL sees. */
function open(dir: string, options: Partial<SpoolOptions> = {}): Spool {
  const spool = Spool.open({ dir, maxBytes: 1024 * 1024, logger, ...options });
  spools.push(spool);
  return spool;
}

let counter = 0;
function messages(count: number, size = 40): SpooledMessage[] {
  return Array.from({ length: count }, () => {
    counter += 1;
    return {
      raw: Buffer.from(JSON.stringify({ n: counter, pad: "x".repeat(size) })),
      receivedAt: { epochSeconds: 1_768_027_619, nanos: counter, offsetSeconds: 0 },
    };
  });
}

const texts = (list: readonly SpooledMessage[]): string[] => list.map((message) => message.raw.toString("utf8"));
const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith(".spool"));
const never = new AbortController().signal;

describe("spool", () => {
  it("hands out what was appended, in order and with its receive time, and forgets it once acknowledged", async () => {
    const spool = open(freshDir());
    const first = messages(3);
    const second = messages(2);
    const appended = [spool.append(first), spool.append(second)];
    expect(appended.map((result) => result.written)).toEqual([true, true]);
    await Promise.all(appended.map((result) => result.durable));
    expect(spool.pendingRecords).toBe(5);
    const batch = await spool.take(100, never);
    expect(batch.messages).toEqual([...first, ...second]);
    expect(spool.pendingRecords).toBe(5);
    spool.acknowledge(batch);
    expect(spool.stats()).toMatchObject({ records: 0, bytes: 0, memoryOnly: 0, full: false, failing: null, damaged: 0 });
  });

  it("takes whole entries up to the message limit (at least one entry), and waits for an append when it has none", async () => {
    const spool = open(freshDir());
    spool.append(messages(3));
    spool.append(messages(3));
    spool.append(messages(10));
    expect((await spool.take(4, never)).messages).toHaveLength(3);
    expect((await spool.take(6, never)).messages).toHaveLength(3);
    expect((await spool.take(4, never)).messages).toHaveLength(10);
    const waiting = spool.take(10, never);
    const late = messages(1);
    spool.append(late);
    expect((await waiting).messages).toEqual(late);
    const stop = new AbortController();
    const stopped = spool.take(10, stop.signal);
    stop.abort();
    await expect(stopped).rejects.toSatisfy((error) => isBridgeError(error, "BRIDGE_STOPPED"));
  });

  it("after a crash (reopened without close), hands out again exactly what was not acknowledged, in order, then new entries", async () => {
    const dir = freshDir();
    const crashed = open(dir);
    const acknowledged = messages(4);
    const inFlight = messages(2);
    const untouched = messages(3);
    crashed.append(acknowledged);
    crashed.append(inFlight);
    crashed.append(untouched);
    crashed.acknowledge(await crashed.take(4, never));
    await crashed.take(2, never); // handed out, never acknowledged: the process died publishing it

    const restarted = open(dir);
    expect(restarted.pendingRecords).toBe(5);
    const later = messages(1);
    restarted.append(later);
    const batch = await restarted.take(100, never);
    expect(texts(batch.messages)).toEqual(texts([...inFlight, ...untouched, ...later]));
    expect(batch.messages.map((message) => message.receivedAt)).toEqual([...inFlight, ...untouched, ...later].map((m) => m.receivedAt));
    restarted.acknowledge(batch);
    await restarted.close();
    expect(open(dir).pendingRecords).toBe(0);
  });

  it("reads entries back from disk when they are not kept in memory", async () => {
    const dir = freshDir();
    const spool = open(dir, { cacheBytes: 0 });
    const written = messages(5, 300);
    spool.append(written);
    expect(texts((await spool.take(10, never)).messages)).toEqual(texts(written));
    const reopened = open(dir, { cacheBytes: 0 });
    expect(texts((await reopened.take(10, never)).messages)).toEqual(texts(written));
  });

  it("starts new segment files as they fill and deletes those left with nothing unacknowledged", async () => {
    const dir = freshDir();
    const spool = open(dir, { segmentBytes: 64 * 1024, maxBytes: 8 * 1024 * 1024 });
    for (let round = 0; round < 40; round += 1) spool.append(messages(10, 500));
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    for (let taken = 0; taken < 40; taken += 1) spool.acknowledge(await spool.take(10, never));
    await spool.close();
    // Everything acknowledged: only the active segment is left, and a restart finds nothing.
    expect(segmentFiles(dir)).toHaveLength(1);
    const reopened = open(dir, { segmentBytes: 64 * 1024 });
    expect(reopened.pendingRecords).toBe(0);
  });

  it("is full once unacknowledged entries reach maxBytes, and has room again when Kafka took them", async () => {
    const spool = open(freshDir(), { maxBytes: 4_000 });
    while (!spool.full) spool.append(messages(5, 200));
    // Records already taken from the node are never refused: the bound stops the next pop.
    expect(spool.append(messages(5, 200)).written).toBe(true);
    let roomy = false;
    const room = spool.waitForRoom(never).then(() => {
      roomy = true;
    });
    await new Promise((done) => setImmediate(done));
    expect(roomy).toBe(false);
    spool.acknowledge(await spool.take(1_000, never));
    await room;
    expect(spool.full).toBe(false);
  });

  it("sets a torn tail aside (copied to a .damaged file, reported) and keeps every intact entry", async () => {
    const dir = freshDir();
    const crashed = open(dir);
    const kept = messages(3);
    crashed.append(kept);
    const [segment] = segmentFiles(dir);
    const path = join(dir, segment ?? "");
    const torn = Buffer.from([0x31, 0x53, 0x4c, 0x55, 0xff, 0x00]);
    appendFileSync(path, torn);

    const restarted = open(dir);
    expect(restarted.damage).toEqual([
      {
        segment: path,
        offset: readFileSync(path).length,
        length: torn.length,
        reason: expect.any(String) as string,
        copiedTo: `${path}.damaged-${readFileSync(path).length}`,
      },
    ]);
    expect(readFileSync(restarted.damage[0]?.copiedTo ?? "")).toEqual(torn);
    expect(restarted.stats().damaged).toBe(1);
    expect(texts((await restarted.take(10, never)).messages)).toEqual(texts(kept));
  });

  it("when a write fails (a full disk), holds the entry in memory, says so, and writes again once it can", async () => {
    const dir = freshDir();
    const spool = open(dir, { segmentBytes: 64 * 1024 });
    spool.append(messages(1));
    // The next segment file is /dev/full: every write to it fails with ENOSPC.
    const next =
      segmentFiles(dir)
        .map((name) => Number(/\d+/.exec(name)?.[0]))
        .reduce((a, b) => Math.max(a, b)) + 1;
    symlinkSync("/dev/full", join(dir, `segment-${String(next).padStart(12, "0")}.spool`));
    const big = messages(1, 70 * 1024);
    const failed = spool.append(big);
    expect(failed.written).toBe(false);
    await expect(failed.durable).rejects.toSatisfy(
      (error) => isBridgeError(error, "BRIDGE_SPOOL_FAILED") && /disk is full \(ENOSPC\)/.test(error.message),
    );
    expect(spool.stats()).toMatchObject({ records: 2, memoryOnly: 1, failing: expect.stringContaining("disk is full") as string });
    expect(texts(spool.memoryOnlyMessages())).toEqual(texts(big));
    const memoryOnly = spool.waitForMemoryOnly(never);
    const batch = await spool.take(10, never);
    expect(texts(batch.messages)).toHaveLength(2);
    spool.acknowledge(batch);
    await memoryOnly;
    expect(spool.stats()).toMatchObject({ records: 0, memoryOnly: 0 });
  });

  it("refuses a folder another running process holds, and takes over a lock its holder left behind", () => {
    const dir = freshDir();
    open(dir).append(messages(1));
    // A lock of a running process (this test's parent) is refused.
    writeFileSync(join(dir, "LOCK"), `${process.ppid}\n`);
    expect(() => open(dir)).toThrow(
      expect.objectContaining({ code: "BRIDGE_SPOOL_FAILED", message: expect.stringContaining("in use by process") as string }),
    );
    // A lock of a process that is gone is taken over.
    writeFileSync(join(dir, "LOCK"), "2147483646\n");
    expect(open(dir).pendingRecords).toBe(1);
    expect(existsSync(join(dir, "LOCK"))).toBe(true);
  });
});
