import type { DetailColumns } from "@usage-ledger/statistics";
import { UsageInsights } from "./usage-insights";

/**
 * Where the dashboard's details come from: an append-only store read by row ranges. The fleet
 * statistics (`RequestStatistics`, the aggregator's merged fleet view) are one; the rollups of
 * packages/statistics could be another source of the long-range series later (see the README).
 */
export interface DetailSource {
  readonly detailCount: number;
  exportDetails(from: number, to: number): DetailColumns;
}

/** Options of {@link InsightsFeed}. */
export interface InsightsFeedOptions {
  /** The current source (called on every catch-up: the aggregator refreshes its fleet view then). */
  readonly source: () => DetailSource;
  readonly nowMillis?: () => number;
  /** Rows per exported chunk; default 32,768. */
  readonly chunkRows?: number;
  /** Latest requests kept (see UsageInsights); default theirs. */
  readonly recentCapacity?: number;
}

/** Rows a request catches up with itself before answering; more is left to the background. */
const REQUEST_BUDGET_ROWS = 131_072;

/**
 * Feeds {@link UsageInsights} from a {@link DetailSource} through a cursor: every catch-up exports
 * only the rows added since the last one (`exportDetails(cursor, detailCount)`, in chunks), so the
 * cost of keeping the dashboard current is O(new details). A request catches up a bounded number of
 * rows itself; a larger backlog (a start with millions of details held) is worked off in the
 * background one chunk per event-loop turn, so ingest and other requests go on. When the source is
 * replaced (the fleet view was rebuilt) the aggregates are rebuilt from its first row.
 */
export class InsightsFeed {
  private readonly options: InsightsFeedOptions;
  private readonly nowMillis: () => number;
  private readonly chunkRows: number;
  private aggregates: UsageInsights;
  private current: DetailSource | undefined;
  private cursor = 0;
  private draining: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: InsightsFeedOptions) {
    this.options = options;
    this.nowMillis = options.nowMillis ?? (() => Date.now());
    this.chunkRows = options.chunkRows ?? 32_768;
    this.aggregates = this.fresh();
  }

  private fresh(): UsageInsights {
    return new UsageInsights({
      nowMillis: this.nowMillis,
      ...(this.options.recentCapacity === undefined ? {} : { recentCapacity: this.options.recentCapacity }),
    });
  }

  /** The aggregates, caught up by at most {@link REQUEST_BUDGET_ROWS} rows first (the rest in the background). */
  insights(): UsageInsights {
    this.catchUp(REQUEST_BUDGET_ROWS);
    return this.aggregates;
  }

  /** Rows the source holds that the aggregates do not yet (as of the last catch-up). */
  pending(): number {
    return Math.max(0, (this.current?.detailCount ?? 0) - this.cursor);
  }

  /** Details in the aggregates. */
  ingested(): number {
    return this.cursor;
  }

  /** Reads the source and ingests up to `budgetRows` new rows now; schedules the rest. */
  catchUp(budgetRows: number): void {
    const source = this.options.source();
    if (source !== this.current || source.detailCount < this.cursor) {
      this.current = source;
      this.cursor = 0;
      this.aggregates = this.fresh();
    }
    let budget = budgetRows;
    while (budget > 0 && this.cursor < source.detailCount) {
      const rows = Math.min(this.chunkRows, budget, source.detailCount - this.cursor);
      this.ingestRows(source, rows);
      budget -= rows;
    }
    if (this.cursor < source.detailCount) void this.drain();
  }

  private ingestRows(source: DetailSource, rows: number): void {
    const to = this.cursor + rows;
    this.aggregates.ingest(source.exportDetails(this.cursor, to));
    this.cursor = to;
  }

  /** Works off the backlog one chunk per event-loop turn. Resolves when caught up. */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      try {
        for (;;) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (this.stopped) return;
          const source = this.current;
          if (source === undefined || this.cursor >= source.detailCount) return;
          this.ingestRows(source, Math.min(this.chunkRows, source.detailCount - this.cursor));
        }
      } finally {
        this.draining = undefined;
      }
    })();
    return this.draining;
  }

  /** Catches up with everything the source holds now (yielding between chunks). */
  async caughtUp(): Promise<void> {
    this.catchUp(0);
    await this.drain();
  }

  /** Keeps the aggregates current in the background, every `intervalMs`. */
  start(intervalMs: number): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setInterval(() => this.catchUp(0), intervalMs);
    this.timer.unref();
  }

  /** Stops the background work. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
