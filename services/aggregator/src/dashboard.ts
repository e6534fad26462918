/**
 * The main command's live status: one line, refreshed in place on a terminal (or printed anew
 * every interval when the output is not a terminal, e.g. piped or captured by a test).
 */

/** One reading of everything the status line shows. */
export interface StatusSample {
  /** `performance.now()` of the reading. */
  readonly atMs: number;
  /** The demo fleet's counters; undefined without the demo. */
  readonly fleet: { readonly sent: number; readonly resent: number; readonly failed: number } | undefined;
  readonly aggregator: {
    readonly applied: number;
    readonly duplicates: number;
    readonly dlq: number;
    readonly lag: number;
    readonly partitions: ReadonlyArray<{ readonly state: string }>;
  };
  /** total_requests of the fleet-wide statistics (what GET /v0/management/usage reports). */
  readonly totalRequests: number;
}

const count = new Intl.NumberFormat("en-US");

function perSecond(current: number, previous: number | undefined, seconds: number): string {
  if (previous === undefined || seconds <= 0) return "";
  return ` (${count.format(Math.max(0, Math.round((current - previous) / seconds)))}/s)`;
}

/** The status line for `current`, with rates against `previous` when given. */
export function renderStatus(current: StatusSample, previous?: StatusSample): string {
  const seconds = previous === undefined ? 0 : (current.atMs - previous.atMs) / 1000;
  const parts: string[] = [];
  if (current.fleet !== undefined) {
    const failed = current.fleet.failed > 0 ? `, ${count.format(current.fleet.failed)} failed` : "";
    parts.push(
      `published ${count.format(current.fleet.sent)}${perSecond(current.fleet.sent, previous?.fleet?.sent, seconds)}` +
        ` (${count.format(current.fleet.resent)} re-sent${failed})`,
    );
  }
  const a = current.aggregator;
  parts.push(`applied ${count.format(a.applied)}${perSecond(a.applied, previous?.aggregator.applied, seconds)}`);
  parts.push(`duplicates skipped ${count.format(a.duplicates)}`);
  parts.push(`dlq ${count.format(a.dlq)}`);
  parts.push(`lag ${count.format(a.lag)}`);
  const live = a.partitions.filter((p) => p.state === "live").length;
  parts.push(`partitions ${live}/${a.partitions.length} live`);
  parts.push(`total_requests ${count.format(current.totalRequests)}`);
  return parts.join(" | ");
}

/** Where the dashboard writes. */
interface StatusOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  readonly intervalMs: number;
  readonly sample: () => StatusSample;
  readonly output: StatusOutput;
}

/** A running status display. */
export interface Dashboard {
  /** Stops refreshing; writes a last line (ending the in-place line on a terminal). */
  stop(): void;
}

/** Shows the status every `intervalMs` until stopped. */
export function startDashboard(options: DashboardOptions): Dashboard {
  const tty = options.output.isTTY === true;
  let previous: StatusSample | undefined;
  const show = (final: boolean): void => {
    const current = options.sample();
    const line = renderStatus(current, final ? undefined : previous);
    previous = current;
    if (tty) options.output.write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
    else options.output.write(`status: ${line}\n`);
  };
  const timer = setInterval(() => show(false), options.intervalMs);
  return {
    stop() {
      clearInterval(timer);
      show(true);
    },
  };
}
