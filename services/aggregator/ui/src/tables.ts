import { el, replaceChildren } from "./dom";
import { formatCompact, formatCount, formatMs, formatPercent, formatUsd, maskKey } from "./format";
import type { Tables, UsageRow } from "./types";

type Column<T> = readonly [header: string, cell: (row: T) => string, value: (row: T) => number | string | null];

function table<T>(
  testId: string,
  columns: ReadonlyArray<Column<T>>,
  rows: readonly T[],
  key: (row: T) => string,
  extra?: (row: T) => HTMLElement[],
): HTMLElement {
  const head = el(
    "tr",
    {},
    columns.map(([header], index) => el("th", { text: header, class: index === 0 ? "" : "num" })),
  );
  const body = el("tbody");
  for (const row of rows) {
    body.append(
      el(
        "tr",
        { attrs: { "data-testid": testId, "data-key": key(row) } },
        columns.map(([, cell, value], index) =>
          el("td", { class: index === 0 ? "name" : "num", text: cell(row), attrs: { "data-value": String(value(row) ?? "") } }),
        ),
      ),
    );
    for (const child of extra?.(row) ?? []) body.append(child);
  }
  if (rows.length === 0)
    body.append(
      el("tr", {}, [el("td", { class: "muted", text: "No requests in this range.", attrs: { colspan: String(columns.length) } })]),
    );
  return el("div", { class: "table-wrap" }, [el("table", {}, [el("thead", {}, [head]), body])]);
}

function usageColumns<T extends UsageRow>(): Array<Column<T>> {
  return [
    ["Requests", (row) => formatCount(row.requests), (row) => row.requests],
    ["Success", (row) => formatPercent(row.success_rate), (row) => row.success_rate],
    ["Tokens", (row) => formatCompact(row.tokens), (row) => row.tokens],
    ["Cost", (row) => formatUsd(row.cost_usd), (row) => row.cost_usd],
    ["Avg latency", (row) => formatMs(row.latency_ms_avg), (row) => row.latency_ms_avg],
  ];
}

/** Per API key (with its models on demand), per model, and per credential. */
export class UsageTables {
  readonly root: HTMLElement;
  private readonly apis = el("div");
  private readonly models = el("div");
  private readonly credentials = el("div");
  private readonly expanded = new Set<string>();
  private last: Tables | undefined;

  constructor() {
    const panel = (title: string, body: HTMLElement): HTMLElement => el("section", { class: "panel" }, [el("h2", { text: title }), body]);
    this.root = el("div", { class: "tables" }, [
      panel("By API key", this.apis),
      panel("By model", this.models),
      panel("By credential", this.credentials),
    ]);
  }

  update(tables: Tables): void {
    this.last = tables;
    const more = (shown: number, total: number, what: string): HTMLElement | null =>
      total > shown ? el("p", { class: "muted small", text: `The ${shown} with the most requests of ${total} ${what}.` }) : null;
    replaceChildren(this.apis, [
      table(
        "api-row",
        [
          ["API key", (row) => `${this.expanded.has(row.api) ? "▾" : "▸"} ${maskKey(row.api)}`, (row) => row.api] as Column<
            Tables["apis"][number]
          >,
          ...usageColumns<Tables["apis"][number]>(),
        ],
        tables.apis,
        (row) => row.api,
        (row) =>
          this.expanded.has(row.api)
            ? row.models.map((model) =>
                el("tr", { class: "sub-row" }, [
                  el("td", { class: "name", text: `  ${model.model}` }),
                  ...usageColumns<typeof model>().map(([, cell]) => el("td", { class: "num", text: cell(model) })),
                ]),
              )
            : [],
      ),
      more(tables.apis.length, tables.total_apis, "API keys"),
    ]);
    for (const row of this.apis.querySelectorAll<HTMLElement>("tr[data-testid=api-row]")) {
      row.classList.add("clickable");
      row.addEventListener("click", () => {
        const api = row.dataset.key ?? "";
        if (this.expanded.has(api)) this.expanded.delete(api);
        else this.expanded.add(api);
        if (this.last !== undefined) this.update(this.last);
      });
    }
    replaceChildren(this.models, [
      table(
        "model-row",
        [
          ["Model", (row) => (row.priced ? row.model : `${row.model} (no price)`), (row) => row.model] as Column<Tables["models"][number]>,
          ...usageColumns(),
        ],
        tables.models,
        (row) => row.model,
      ),
      more(tables.models.length, tables.total_models, "models"),
    ]);
    replaceChildren(this.credentials, [
      table(
        "credential-row",
        [
          ["Source", (row) => row.source || "(none)", (row) => row.source],
          ["Auth index", (row) => row.auth_index || "–", (row) => row.auth_index],
          ["Requests", (row) => formatCount(row.requests), (row) => row.requests],
          ["Failed", (row) => formatCount(row.failure), (row) => row.failure],
          ["Success", (row) => formatPercent(row.success_rate), (row) => row.success_rate],
          ["Tokens", (row) => formatCompact(row.tokens), (row) => row.tokens],
        ],
        tables.credentials,
        (row) => `${row.source}|${row.auth_index}`,
      ),
      more(tables.credentials.length, tables.total_credentials, "credentials"),
    ]);
  }
}
