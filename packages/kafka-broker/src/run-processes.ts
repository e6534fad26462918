import { readdirSync, readFileSync } from "node:fs";

/** Pids of live processes whose command line mentions `marker` (a run's folder), except this one. */
export function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (commandLine.includes(marker) && !/^\d+ \(.*\) Z/.test(stat)) pids.push(pid);
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
