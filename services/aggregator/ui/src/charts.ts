import uPlot from "uplot";
import { el, replaceChildren } from "./dom";

/** One line (or stacked layer) of a chart. */
export interface ChartLine {
  readonly label: string;
  readonly values: readonly number[];
  readonly color: string;
}

/** What a chart draws. */
export interface ChartSpec {
  /** Bucket starts, seconds since the epoch. */
  readonly x: readonly number[];
  /** Lines, or for `stacked` the layers from the bottom up. */
  readonly lines: readonly ChartLine[];
  readonly kind: "lines" | "stacked" | "spark";
  readonly height: number;
  readonly format: (value: number) => string;
  /** Bucket width, for the hover label ("hour" shows the time, "day" the date). */
  readonly step?: "minute" | "hour" | "day";
}

/** Colours of the lines: distinct in light and dark (the first is the "all models" line). */
export const PALETTE = ["#64748b", "#2563eb", "#f97316", "#16a34a", "#a855f7", "#e11d48", "#0891b2", "#ca8a04", "#db2777"];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function translucent(color: string, alpha: number): string {
  const hex = color.replace("#", "");
  const [r, g, b] = [0, 2, 4].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** A colour square (coloured through the CSSOM: the page's policy allows no inline style attribute). */
function swatch(color: string): HTMLElement {
  const square = el("i", { class: "swatch" });
  square.style.backgroundColor = color;
  return square;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/**
 * A uPlot chart with its own legend: each line's total over the chart (or, while the pointer is on
 * the chart, its value at the pointer). The host gets `data-points` and the legend items
 * `data-label` / `data-total`, which the browser tests read.
 */
export class Chart {
  private readonly host: HTMLElement;
  private readonly plotHost: HTMLElement;
  private readonly legend: HTMLElement;
  private plot: uPlot | undefined;
  private spec: ChartSpec | undefined;
  private shape = "";
  private readonly resize: ResizeObserver;

  constructor(host: HTMLElement) {
    this.host = host;
    this.plotHost = el("div", { class: "plot" });
    this.legend = el("div", { class: "legend" });
    host.append(this.plotHost, this.legend);
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: this.spec?.height ?? 120 }));
    this.resize.observe(host);
  }

  private width(): number {
    return Math.max(120, Math.floor(this.host.clientWidth));
  }

  /** Draws `spec` (re-creating the plot when its lines or the theme changed). */
  update(spec: ChartSpec, theme: string): void {
    this.spec = spec;
    const shape = `${spec.kind}|${theme}|${spec.lines.map((line) => `${line.label}:${line.color}`).join(",")}`;
    const data = this.data(spec);
    if (this.plot !== undefined && shape === this.shape) this.plot.setData(data);
    else {
      this.plot?.destroy();
      this.shape = shape;
      this.plot = new uPlot(this.options(spec), data, this.plotHost);
    }
    this.host.dataset.points = String(spec.x.length);
    this.showLegend(undefined);
  }

  private data(spec: ChartSpec): uPlot.AlignedData {
    if (spec.kind !== "stacked") return [spec.x.slice(), ...spec.lines.map((line) => line.values.slice())];
    // Stacked: draw the running sums from the top layer down, each over the one drawn before.
    const layers: number[][] = [];
    let running = spec.x.map(() => 0);
    for (const line of spec.lines) {
      running = running.map((value, index) => value + (line.values[index] ?? 0));
      layers.push(running);
    }
    return [spec.x.slice(), ...layers.reverse()];
  }

  private options(spec: ChartSpec): uPlot.Options {
    const muted = cssVar("--muted") || "#6b7280";
    const grid = cssVar("--grid") || "rgba(128,128,128,0.15)";
    const spark = spec.kind === "spark";
    const ordered = spec.kind === "stacked" ? [...spec.lines].reverse() : spec.lines;
    const bars = uPlot.paths.bars?.({ size: [0.8, 48] });
    const axis = (values?: (u: uPlot, splits: number[]) => string[]): uPlot.Axis => ({
      stroke: muted,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: "11px system-ui, sans-serif",
      ...(values === undefined ? {} : { values, size: 56 }),
    });
    return {
      width: this.width(),
      height: spec.height,
      legend: { show: false },
      padding: spark ? [2, 0, 2, 0] : [8, 18, 0, 0],
      cursor: spark ? { show: false } : { points: { size: 6 }, drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] } },
      axes: spark ? [{ show: false }, { show: false }] : [axis(), axis((_u, splits) => splits.map((value) => spec.format(value)))],
      series: [
        {},
        ...ordered.map((line): uPlot.Series => ({
          label: line.label,
          stroke: line.color,
          points: { show: false },
          ...(spec.kind === "stacked"
            ? { fill: line.color, width: 0, ...(bars === undefined ? {} : { paths: bars }) }
            : { width: spark ? 1.5 : 2, ...(spark ? { fill: translucent(line.color, 0.15) } : {}) }),
        })),
      ],
      hooks: { setCursor: [(u) => this.showLegend(u.cursor.idx ?? undefined)] },
    };
  }

  private showLegend(index: number | undefined): void {
    const spec = this.spec;
    if (spec === undefined || spec.kind === "spark") return;
    const at = index === undefined ? undefined : spec.x[index];
    const when =
      at === undefined
        ? "total"
        : new Date(at * 1000).toLocaleString(
            undefined,
            spec.step === "day" ? { dateStyle: "medium" } : { dateStyle: "short", timeStyle: "short" },
          );
    replaceChildren(this.legend, [
      el("span", { class: "legend-when", text: when }),
      ...spec.lines.map((line) => {
        const total = sum(line.values);
        const value = index === undefined ? total : (line.values[index] ?? 0);
        return el(
          "span",
          { class: "legend-item", attrs: { "data-testid": "legend-item", "data-label": line.label, "data-total": String(total) } },
          [swatch(line.color), `${line.label} `, el("b", { text: spec.format(value) })],
        );
      }),
    ]);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
  }
}
