import { el, replaceChildren } from "./dom";
import { formatCount } from "./format";
import type { Overview } from "./types";

/** The state of one 15-minute block: the Usage page's four. */
function stateOf(success: number, failure: number): "idle" | "success" | "failure" | "mixed" {
  if (success === 0 && failure === 0) return "idle";
  if (failure === 0) return "success";
  return success === 0 ? "failure" : "mixed";
}

/** Seven days of 15-minute blocks, one row per day (the oldest at the top). */
export class HealthGrid {
  readonly root: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly summary: HTMLElement;

  constructor() {
    this.grid = el("div", { class: "health-grid", attrs: { "data-testid": "health-grid", role: "img" } });
    this.summary = el("p", { class: "muted small" });
    const key = (state: string, label: string): HTMLElement =>
      el("span", { class: "health-key" }, [el("i", { class: `block ${state}` }), label]);
    this.root = el("section", { class: "panel" }, [
      el("header", { class: "panel-head" }, [
        el("h2", { text: "Health, last 7 days" }),
        el("div", { class: "health-keys" }, [
          key("success", "success"),
          key("mixed", "mixed"),
          key("failure", "failure"),
          key("idle", "idle"),
        ]),
      ]),
      this.grid,
      this.summary,
    ]);
  }

  update(overview: Overview): void {
    const { health } = overview;
    const start = Date.parse(health.start);
    const perRow = 96;
    const rows: HTMLElement[] = [];
    let row: HTMLElement | undefined;
    let failing = 0;
    health.success.forEach((success, index) => {
      if (index % perRow === 0) {
        row = el("div", { class: "health-row" });
        const day = new Date(start + index * health.step_ms).toLocaleDateString(undefined, { month: "short", day: "numeric" });
        rows.push(el("div", { class: "health-line" }, [el("span", { class: "health-day muted small", text: day }), row]));
      }
      const failure = health.failure[index] ?? 0;
      const state = stateOf(success, failure);
      if (state === "failure" || state === "mixed") failing++;
      const from = new Date(start + index * health.step_ms);
      row!.append(
        el("i", {
          class: `block ${state}`,
          title: `${from.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" })}: ${formatCount(success)} ok, ${formatCount(failure)} failed`,
          attrs: { "data-state": state, "data-success": String(success), "data-failure": String(failure) },
        }),
      );
    });
    replaceChildren(this.grid, rows);
    this.grid.setAttribute("aria-label", `${failing} of ${health.success.length} quarter hours had failures`);
    this.summary.textContent = `${failing} of ${health.success.length} quarter hours had failures.`;
  }
}
