import { Chart, PALETTE } from "./charts";
import type { ChartLine } from "./charts";
import { el, replaceChildren } from "./dom";
import { formatCompact, formatCount, formatUsd } from "./format";
import type { Series } from "./types";

/** Most model lines besides "all models" (the Usage page drew up to 9 lines in all). */
const MAX_CHOSEN = 8;

/** Requests and tokens per model, the token breakdown and the cost, per hour or day. */
export class Trends {
  readonly root: HTMLElement;
  granularity: "hour" | "day" | undefined;
  /** Models chosen for their own line; empty = the ones with the most requests. */
  readonly chosen = new Set<string>();
  private readonly chips = el("div", { class: "chips", attrs: { "aria-label": "Models drawn" } });
  private readonly toggle = el("div", { class: "segmented", attrs: { role: "group", "aria-label": "Buckets" } });
  private readonly note = el("p", { class: "muted small" });
  private readonly charts = new Map<string, Chart>();
  private onChange: () => void = () => undefined;

  constructor() {
    const grid = el("div", { class: "chart-grid" });
    for (const [key, title] of [
      ["requests", "Requests per model"],
      ["tokens", "Tokens per model"],
      ["breakdown", "Token breakdown"],
      ["cost", "Cost"],
    ] as const) {
      const host = el("div", { class: "chart", attrs: { "data-testid": `chart-${key}` } });
      grid.append(el("section", { class: "panel" }, [el("h2", { text: title }), host]));
      this.charts.set(key, new Chart(host));
    }
    this.root = el("div", { class: "trends" }, [el("div", { class: "trend-controls" }, [this.toggle, this.chips]), grid, this.note]);
  }

  /** Called when the granularity or the chosen models change. */
  listen(onChange: () => void): void {
    this.onChange = onChange;
  }

  update(series: Series, knownModels: readonly string[], theme: string): void {
    this.granularity = series.granularity;
    replaceChildren(
      this.toggle,
      (["hour", "day"] as const).map((value) =>
        el("button", {
          class: value === series.granularity ? "on" : "",
          text: value === "hour" ? "By hour" : "By day",
          attrs: { "aria-pressed": String(value === series.granularity), "data-testid": `granularity-${value}` },
          on: { click: () => ((this.granularity = value), this.onChange()) },
        }),
      ),
    );
    const drawn = new Set(series.models.map((line) => line.model));
    replaceChildren(
      this.chips,
      knownModels.map((model) =>
        el("button", {
          class: `chip${drawn.has(model) ? " on" : ""}`,
          text: model,
          attrs: { "aria-pressed": String(drawn.has(model)) },
          on: {
            click: () => {
              if (this.chosen.size === 0) for (const name of drawn) this.chosen.add(name);
              if (this.chosen.has(model)) this.chosen.delete(model);
              else if (this.chosen.size < MAX_CHOSEN) this.chosen.add(model);
              this.onChange();
            },
          },
        }),
      ),
    );
    const x = series.buckets.map((bucket) => Date.parse(bucket) / 1000);
    const step = series.granularity;
    const perModel = (metric: "requests" | "tokens", total: number[]): ChartLine[] => [
      { label: "all models", values: total, color: PALETTE[0]! },
      ...series.models.map((line, index) => ({
        label: line.model,
        values: line[metric],
        color: PALETTE[(index % (PALETTE.length - 1)) + 1]!,
      })),
    ];
    this.charts
      .get("requests")!
      .update({ x, lines: perModel("requests", series.requests), kind: "lines", height: 220, format: formatCount, step }, theme);
    this.charts
      .get("tokens")!
      .update({ x, lines: perModel("tokens", series.tokens.total), kind: "lines", height: 220, format: formatCompact, step }, theme);
    this.charts.get("breakdown")!.update(
      {
        x,
        lines: [
          { label: "input (uncached)", values: series.tokens.input_uncached, color: "#2563eb" },
          { label: "cached input", values: series.tokens.cached, color: "#0891b2" },
          { label: "output", values: series.tokens.output, color: "#f97316" },
          { label: "reasoning", values: series.tokens.reasoning, color: "#a855f7" },
        ],
        kind: "stacked",
        height: 220,
        format: formatCompact,
        step,
      },
      theme,
    );
    this.charts
      .get("cost")!
      .update(
        { x, lines: [{ label: "cost", values: series.cost_usd, color: "#ca8a04" }], kind: "lines", height: 220, format: formatUsd, step },
        theme,
      );
    this.note.textContent = series.truncated ? "Showing the most recent buckets only; choose day buckets for the whole range." : "";
  }
}
