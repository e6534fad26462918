import { afterEach, describe, expect, it, vi } from "vitest";
import { renderStatus, startDashboard } from "./dashboard";
import type { StatusSample } from "./dashboard";

function sample(atMs: number, sent: number, applied: number, fleet = true): StatusSample {
  return {
    atMs,
    fleet: fleet ? { sent, resent: Math.floor(sent / 50), failed: 0 } : undefined,
    aggregator: {
      applied,
      duplicates: Math.floor(sent / 50),
      dlq: 2,
      lag: sent - applied,
      partitions: [{ state: "live" }, { state: "live" }, { state: "restoring" }],
    },
    totalRequests: applied + 10,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("renderStatus", () => {
  it("shows the demo's publishes, the aggregator's counters and the fleet total", () => {
    expect(renderStatus(sample(0, 1234, 1200))).toBe(
      "published 1,234 (24 re-sent) | applied 1,200 | duplicates skipped 24 | dlq 2 | lag 34 | partitions 2/3 live | total_requests 1,210",
    );
  });

  it("adds rates against the previous sample, and failures only when there are some", () => {
    const previous = sample(0, 1000, 900);
    const current = { ...sample(2000, 1400, 1300), fleet: { sent: 1400, resent: 28, failed: 3 } };
    expect(renderStatus(current, previous)).toBe(
      "published 1,400 (200/s) (28 re-sent, 3 failed) | applied 1,300 (200/s) | duplicates skipped 28 | dlq 2 | lag 100 | partitions 2/3 live | total_requests 1,310",
    );
  });

  it("leaves the fleet out without the demo", () => {
    expect(renderStatus(sample(0, 0, 5, false))).toBe(
      "applied 5 | duplicates skipped 0 | dlq 2 | lag -5 | partitions 2/3 live | total_requests 15",
    );
  });
});

describe("startDashboard", () => {
  it("refreshes one line in place on a terminal and ends it on stop", () => {
    vi.useFakeTimers();
    const written: string[] = [];
    let n = 0;
    const dashboard = startDashboard({
      intervalMs: 1000,
      output: { write: (text: string) => written.push(text), isTTY: true },
      sample: () => sample(n * 1000, (n += 1) * 100, n * 100),
    });
    vi.advanceTimersByTime(2500);
    dashboard.stop();
    expect(written.length).toBe(3);
    expect(written.every((text) => text.startsWith("\r\x1b[2K"))).toBe(true);
    expect(written.slice(0, 2).some((text) => text.endsWith("\n"))).toBe(false);
    expect(written[2]?.endsWith("\n")).toBe(true);
  });

  it("prints a plain line per interval when the output is not a terminal", () => {
    vi.useFakeTimers();
    const written: string[] = [];
    const dashboard = startDashboard({
      intervalMs: 500,
      output: { write: (text: string) => written.push(text) },
      sample: () => sample(0, 10, 10),
    });
    vi.advanceTimersByTime(1000);
    dashboard.stop();
    expect(written).toHaveLength(3);
    for (const line of written) expect(line).toMatch(/^status: published 10 .* total_requests 20\n$/);
  });
});
