import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BridgeError, errorMessage } from "../errors";

const LOCK_FILE = "LOCK";

/**
 * Takes a node's spool folder for this process: a `LOCK` file holding the pid. A lock left by a
 * process that no longer runs (a crash) is taken over; one held by a running process is refused
 * with `BRIDGE_SPOOL_FAILED`: two bridges appending to one spool would publish each other's
 * records and delete each other's segments.
 */
export function acquireSpoolLock(dir: string): void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return;
    } catch (error) {
      if (!isCode(error, "EEXIST")) {
        throw new BridgeError("BRIDGE_SPOOL_FAILED", `cannot lock the spool folder ${dir}: ${errorMessage(error)}`, { cause: error });
      }
    }
    const holder = Number.parseInt(readQuietly(path), 10);
    // The same pid is a previous incarnation of this process (pid 1 in a restarted container).
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
      throw new BridgeError(
        "BRIDGE_SPOOL_FAILED",
        `the spool folder ${dir} is in use by process ${holder}: every bridge needs its own spool folder (BRIDGE_SPOOL_DIR)`,
      );
    }
    try {
      unlinkSync(path);
    } catch {
      // Someone else removed it; try again.
    }
  }
  throw new BridgeError("BRIDGE_SPOOL_FAILED", `cannot lock the spool folder ${dir}: another process keeps taking it`);
}

/** Removes this process's lock (a no-op when another process holds it). */
export function releaseSpoolLock(dir: string): void {
  const path = join(dir, LOCK_FILE);
  if (Number.parseInt(readQuietly(path), 10) !== process.pid) return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return isCode(error, "EPERM");
  }
}

function readQuietly(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === code;
}
