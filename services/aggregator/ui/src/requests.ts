import type { Api } from "./api";
import { download, el, replaceChildren } from "./dom";
import { formatCount, formatMs, formatTime, formatUsd, maskKey } from "./format";
import type { RangeName, Recent } from "./types";

const PAGE = 25;
const PATH = "/v0/management/ledger/v1/requests";

type Filter = "api" | "model" | "source" | "status";

/** The latest requests: filters, pages, CSV and JSON export of what the filters select. */
export class RecentRequests {
  readonly root: HTMLElement;
  private readonly selects = new Map<Filter, HTMLSelectElement>();
  private readonly body = el("div");
  private readonly pager = el("div", { class: "pager" });
  private readonly note = el("p", { class: "muted small" });
  private offset = 0;
  private capacity = 2000;
  private api: Api | undefined;
  private range: RangeName = "24h";
  private onError: (error: unknown) => void = () => undefined;

  constructor() {
    const filters = el("div", { class: "filters" });
    for (const [filter, label] of [
      ["api", "API key"],
      ["model", "Model"],
      ["source", "Source"],
      ["status", "Status"],
    ] as const) {
      const select = el("select", { attrs: { "data-testid": `filter-${filter}`, "aria-label": label } });
      select.addEventListener("change", () => {
        this.offset = 0;
        void this.load();
      });
      this.selects.set(filter, select);
      filters.append(el("label", {}, [`${label} `, select]));
    }
    this.fillOptions("status", ["success", "failed"]);
    const exportButton = (format: "csv" | "json"): HTMLElement =>
      el("button", {
        class: "secondary",
        text: `Export ${format.toUpperCase()}`,
        attrs: { "data-testid": `export-requests-${format}` },
        on: { click: () => void this.export(format) },
      });
    this.root = el("section", { class: "panel" }, [
      el("header", { class: "panel-head" }, [
        el("h2", { text: "Recent requests" }),
        el("div", { class: "actions" }, [exportButton("csv"), exportButton("json")]),
      ]),
      filters,
      this.body,
      this.pager,
      this.note,
    ]);
  }

  private fillOptions(filter: Filter, values: readonly string[]): void {
    const select = this.selects.get(filter)!;
    const chosen = select.value;
    const options = [
      el("option", { text: "all", attrs: { value: "" } }),
      ...values.map((value) => el("option", { text: filter === "api" ? maskKey(value) : value, attrs: { value } })),
    ];
    replaceChildren(select, options);
    select.value = values.includes(chosen) ? chosen : "";
  }

  private params(): Record<string, string | number | undefined> {
    const value = (filter: Filter): string | undefined => this.selects.get(filter)?.value || undefined;
    return { range: this.range, api: value("api"), model: value("model"), source: value("source"), status: value("status") };
  }

  /** Shows the current page for `range` (called on every refresh). */
  async refresh(api: Api, range: RangeName, onError: (error: unknown) => void): Promise<void> {
    this.api = api;
    this.onError = onError;
    if (range !== this.range) this.offset = 0;
    this.range = range;
    await this.load();
  }

  private async load(): Promise<void> {
    if (this.api === undefined) return;
    let page: Recent;
    try {
      page = await this.api.get<Recent>(PATH, { ...this.params(), offset: this.offset, limit: PAGE });
    } catch (error) {
      this.onError(error);
      return;
    }
    this.capacity = page.capacity;
    this.fillOptions("api", page.filters.apis);
    this.fillOptions("model", page.filters.models);
    this.fillOptions("source", page.filters.sources);
    const rows = page.rows.map((row) =>
      el("tr", { class: row.failed ? "failed" : "", attrs: { "data-testid": "request-row" } }, [
        el("td", { class: "name", text: formatTime(row.timestamp), title: row.timestamp }),
        el("td", { text: maskKey(row.api) }),
        el("td", { text: row.model }),
        el("td", { text: row.source === "" ? "–" : `${row.source} #${row.auth_index}` }),
        el("td", { class: row.failed ? "bad" : "good", text: row.failed ? "failed" : "ok" }),
        el("td", { class: "num", text: formatMs(row.latency_ms > 0 ? row.latency_ms : null) }),
        el("td", { class: "num", text: `${formatCount(row.tokens.input)} / ${formatCount(row.tokens.output)}` }),
        el("td", { class: "num", text: formatCount(row.tokens.total), attrs: { "data-value": String(row.tokens.total) } }),
        el("td", { class: "num", text: formatUsd(row.cost_usd) }),
      ]),
    );
    const head = ["Time", "API key", "Model", "Credential", "Status", "Latency", "In / out", "Tokens", "Cost"].map((text, index) =>
      el("th", { text, class: index >= 5 ? "num" : "" }),
    );
    replaceChildren(this.body, [
      el("div", { class: "table-wrap" }, [
        el("table", { attrs: { "data-testid": "requests-table", "data-matching": String(page.matching) } }, [
          el("thead", {}, [el("tr", {}, head)]),
          el(
            "tbody",
            {},
            rows.length > 0 ? rows : [el("tr", {}, [el("td", { class: "muted", text: "No requests match.", attrs: { colspan: "9" } })])],
          ),
        ]),
      ]),
    ]);
    const last = Math.min(page.offset + page.rows.length, page.matching);
    const step = (delta: number, label: string, enabled: boolean): HTMLElement => {
      const button = el("button", {
        class: "secondary",
        text: label,
        on: { click: () => ((this.offset = Math.max(0, this.offset + delta)), void this.load()) },
      });
      button.toggleAttribute("disabled", !enabled);
      return button;
    };
    replaceChildren(this.pager, [
      step(-PAGE, "Newer", page.offset > 0),
      el("span", {
        class: "muted",
        text: page.matching === 0 ? "none" : `${formatCount(page.offset + 1)}–${formatCount(last)} of ${formatCount(page.matching)}`,
      }),
      step(PAGE, "Older", last < page.matching),
    ]);
    this.note.textContent = `The ledger keeps the latest ${formatCount(page.capacity)} requests for this table; the cards, charts and tables above count every request.`;
  }

  private async export(format: "csv" | "json"): Promise<void> {
    if (this.api === undefined) return;
    try {
      const text = await this.api.text(PATH, { ...this.params(), offset: 0, limit: this.capacity, format });
      download(`usage-ledger-requests.${format}`, new Blob([text], { type: format === "csv" ? "text/csv" : "application/json" }));
    } catch (error) {
      this.onError(error);
    }
  }
}
