import type { Api } from "./api";
import { el, replaceChildren } from "./dom";
import { formatTime } from "./format";
import type { ModelPriceJson, Prices } from "./types";

const PATH = "/v0/management/ledger/v1/prices";
const FIELDS = [
  ["input", "Input"],
  ["output", "Output"],
  ["cached_input", "Cached input"],
  ["reasoning", "Reasoning"],
] as const;
type Field = (typeof FIELDS)[number][0];

function numberInput(field: Field, value: number | undefined): HTMLInputElement {
  const input = el("input", {
    attrs: {
      type: "number",
      min: "0",
      step: "any",
      inputmode: "decimal",
      "data-field": field,
      "aria-label": field,
      placeholder: field === "reasoning" ? "–" : "",
    },
  });
  if (value !== undefined) input.value = String(value);
  return input;
}

/**
 * The fleet's price table (USD per 1M tokens): the models priced and the models seen without a
 * price; edits are saved for the whole fleet (the ledger writes them to Kafka).
 */
export class PriceEditor {
  readonly root: HTMLElement;
  private readonly info = el("p", { class: "muted small", attrs: { "data-testid": "prices-info" } });
  private readonly rows = el("tbody");
  private readonly status = el("p", { class: "small", attrs: { "data-testid": "prices-status", role: "status" } });
  private readonly newName = el("input", {
    attrs: { type: "text", placeholder: "model name", "aria-label": "new model", "data-testid": "new-price-model" },
  });
  private prices: Prices | undefined;
  private seen: string[] = [];
  private removed = new Set<string>();
  private api: Api | undefined;
  private onSaved: () => void = () => undefined;

  constructor() {
    const head = el("tr", {}, [
      el("th", { text: "Model" }),
      ...FIELDS.map(([, label]) => el("th", { class: "num", text: label })),
      el("th"),
    ]);
    this.root = el("section", { class: "panel", attrs: { id: "prices" } }, [
      el("header", { class: "panel-head" }, [
        el("h2", { text: "Prices (USD per 1M tokens)" }),
        el("div", { class: "actions" }, [
          el("button", { text: "Save prices", attrs: { "data-testid": "save-prices" }, on: { click: () => void this.save() } }),
          el("button", {
            class: "secondary",
            text: "Reset to price file",
            attrs: { "data-testid": "reset-prices" },
            on: { click: () => void this.reset() },
          }),
        ]),
      ]),
      this.info,
      el("div", { class: "table-wrap" }, [el("table", { class: "prices" }, [el("thead", {}, [head]), this.rows])]),
      el("div", { class: "add-price" }, [
        this.newName,
        el("button", { class: "secondary", text: "Add model", on: { click: () => this.add() } }),
      ]),
      this.status,
    ]);
  }

  /** Loads the table (and remembers the models seen, to offer them for pricing). */
  async load(api: Api, seen: readonly string[], onSaved: () => void): Promise<void> {
    this.api = api;
    this.onSaved = onSaved;
    this.seen = [...seen];
    this.prices = await api.get<Prices>(PATH);
    // A refresh must not wipe what someone is typing.
    if (!this.editing()) this.render();
  }

  private editing(): boolean {
    return this.root.contains(document.activeElement) && document.activeElement instanceof HTMLInputElement;
  }

  private render(): void {
    const prices = this.prices;
    if (prices === undefined) return;
    const origin =
      prices.origin === "topic"
        ? `edited for the fleet${prices.updated_at === null ? "" : ` ${formatTime(prices.updated_at)}`}`
        : "from the price file";
    this.info.textContent = `Prices as of ${prices.as_of || "an unknown date"} · ${prices.source || "no source named"} · ${origin}`;
    const names = [...new Set([...Object.keys(prices.models), ...this.seen])].sort();
    replaceChildren(
      this.rows,
      names.filter((name) => !this.removed.has(name)).map((name) => this.row(name, prices.models[name])),
    );
  }

  private row(name: string, price: ModelPriceJson | undefined): HTMLElement {
    return el("tr", { class: price === undefined ? "unpriced" : "", attrs: { "data-testid": "price-row", "data-model": name } }, [
      el("td", { class: "name", text: price === undefined ? `${name} (no price)` : name }),
      ...FIELDS.map(([field]) => el("td", { class: "num" }, [numberInput(field, price?.[field])])),
      el("td", {}, [
        price === undefined
          ? null
          : el("button", {
              class: "link",
              text: "remove",
              attrs: { "aria-label": `remove ${name}` },
              on: { click: () => (this.removed.add(name), this.render()) },
            }),
      ]),
    ]);
  }

  private add(): void {
    const name = this.newName.value.trim();
    if (name === "" || this.prices === undefined) return;
    this.removed.delete(name);
    if (!this.seen.includes(name)) this.seen.push(name);
    this.newName.value = "";
    this.render();
    this.rows.querySelector<HTMLInputElement>(`tr[data-model="${CSS.escape(name)}"] input`)?.focus();
  }

  /** Sends the rows that differ from the table in force (and the removed models). */
  private async save(): Promise<void> {
    if (this.api === undefined || this.prices === undefined) return;
    const changes: Record<string, ModelPriceJson | null> = {};
    for (const name of this.removed) if (this.prices.models[name] !== undefined) changes[name] = null;
    for (const row of this.rows.querySelectorAll<HTMLElement>("tr[data-testid=price-row]")) {
      const name = row.dataset.model ?? "";
      const read = (field: Field): number | undefined => {
        const text = row.querySelector<HTMLInputElement>(`input[data-field=${field}]`)?.value.trim() ?? "";
        return text === "" ? undefined : Number(text);
      };
      const input = read("input");
      const output = read("output");
      if (input === undefined && output === undefined) continue;
      const cached = read("cached_input");
      const reasoning = read("reasoning");
      const price: ModelPriceJson = {
        input: input ?? 0,
        output: output ?? 0,
        cached_input: cached ?? input ?? 0,
        ...(reasoning === undefined ? {} : { reasoning }),
      };
      if (JSON.stringify(price) !== JSON.stringify(this.prices.models[name])) changes[name] = price;
    }
    if (Object.keys(changes).length === 0) {
      this.status.textContent = "Nothing changed.";
      return;
    }
    await this.write(
      () => this.api!.send<Prices>("POST", PATH, { models: changes }),
      `Saved ${Object.keys(changes).length} price(s) for the fleet.`,
    );
  }

  private async reset(): Promise<void> {
    if (this.api === undefined) return;
    await this.write(() => this.api!.send<Prices>("DELETE", PATH), "The price file's table is in force again.");
  }

  private async write(action: () => Promise<Prices>, done: string): Promise<void> {
    this.status.className = "small";
    this.status.textContent = "Saving…";
    try {
      this.prices = await action();
      this.removed.clear();
      this.render();
      this.status.textContent = done;
      this.onSaved();
    } catch (error) {
      this.status.className = "small bad";
      this.status.textContent = `Not saved: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
}
