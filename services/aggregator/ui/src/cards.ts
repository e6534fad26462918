import { Chart } from "./charts";
import { el, replaceChildren } from "./dom";
import { formatCompact, formatCount, formatMs, formatRate, formatUsd } from "./format";
import type { Overview } from "./types";

interface CardParts {
  readonly value: HTMLElement;
  readonly meta: HTMLElement;
  readonly chart: Chart | undefined;
}

/** The six cards: requests, tokens, RPM, TPM (last 30 minutes), cost, average latency; with per-minute sparklines. */
export class Cards {
  readonly root: HTMLElement;
  private readonly cards = new Map<string, CardParts>();

  constructor() {
    this.root = el("section", { class: "cards", attrs: { "aria-label": "Totals" } });
    const specs: Array<[key: string, label: string, spark: boolean]> = [
      ["requests", "Requests", true],
      ["tokens", "Tokens", true],
      ["rpm", "RPM (30 min)", true],
      ["tpm", "TPM (30 min)", true],
      ["cost", "Cost", true],
      ["latency", "Avg latency", false],
    ];
    for (const [key, label, spark] of specs) {
      const value = el("div", { class: "card-value", attrs: { "data-testid": `card-${key}` }, text: "–" });
      const meta = el("div", { class: "card-meta" });
      const sparkHost = el("div", { class: "spark" });
      this.root.append(el("article", { class: `card card-${key}` }, [el("h3", { text: label }), value, meta, spark ? sparkHost : null]));
      this.cards.set(key, { value, meta, chart: spark ? new Chart(sparkHost) : undefined });
    }
  }

  private set(
    key: string,
    shown: string,
    raw: number | null,
    meta: ReadonlyArray<[testId: string, label: string, shown: string, raw: number]>,
  ): void {
    const card = this.cards.get(key)!;
    card.value.textContent = shown;
    card.value.dataset.value = raw === null ? "" : String(raw);
    replaceChildren(
      card.meta,
      meta.map(([testId, label, text, value]) =>
        el("span", { attrs: { "data-testid": testId, "data-value": String(value) } }, [`${label} `, el("b", { text })]),
      ),
    );
  }

  update(overview: Overview, theme: string): void {
    const { totals, rates, sparklines } = overview;
    this.set("requests", formatCount(totals.requests), totals.requests, [
      ["card-requests-success", "success", formatCount(totals.success), totals.success],
      ["card-requests-failure", "failed", formatCount(totals.failure), totals.failure],
    ]);
    this.set("tokens", formatCompact(totals.tokens.total), totals.tokens.total, [
      ["card-tokens-cached", "cached", formatCompact(totals.tokens.cached), totals.tokens.cached],
      ["card-tokens-reasoning", "reasoning", formatCompact(totals.tokens.reasoning), totals.tokens.reasoning],
    ]);
    this.set("rpm", formatRate(rates.rpm), rates.rpm, [["card-rpm-requests", "requests", formatCount(rates.requests), rates.requests]]);
    this.set("tpm", formatRate(rates.tpm), rates.tpm, [["card-tpm-tokens", "tokens", formatCompact(rates.tokens), rates.tokens]]);
    const unpriced = overview.models_without_price.length;
    this.set("cost", formatUsd(totals.cost_usd), totals.cost_usd, [
      ["card-cost-unpriced", "models without price", String(unpriced), unpriced],
    ]);
    this.set("latency", formatMs(totals.latency_ms_avg), totals.latency_ms_avg, [
      ["card-latency-samples", "measured", formatCount(totals.latency_samples), totals.latency_samples],
    ]);
    const start = Date.parse(sparklines.start) / 1000;
    const x = sparklines.requests.map((_value, index) => start + (index * sparklines.step_ms) / 1000);
    const spark = (key: string, values: number[], color: string, format: (value: number) => string): void =>
      this.cards.get(key)?.chart?.update({ x, lines: [{ label: key, values, color }], kind: "spark", height: 36, format }, theme);
    spark("requests", sparklines.requests, "#2563eb", formatCount);
    spark("tokens", sparklines.tokens, "#8b5cf6", formatCompact);
    spark("rpm", sparklines.requests, "#16a34a", formatCount);
    spark("tpm", sparklines.tokens, "#f97316", formatCompact);
    spark("cost", sparklines.cost_usd, "#ca8a04", formatUsd);
  }
}
