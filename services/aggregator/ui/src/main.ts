import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { Api, Refused, storedKey, storeKey } from "./api";
import { Cards } from "./cards";
import { download, el, replaceChildren } from "./dom";
import { formatCount } from "./format";
import { HealthGrid } from "./health";
import { PriceEditor } from "./prices";
import { RecentRequests } from "./requests";
import { UsageTables } from "./tables";
import { Trends } from "./trends";
import type { Overview, RangeName, Series, Tables } from "./types";

const LEDGER = "/v0/management/ledger/v1";
const REFRESH_MS = 5_000;
const RANGES: ReadonlyArray<[RangeName, string]> = [
  ["7h", "7 h"],
  ["24h", "24 h"],
  ["7d", "7 days"],
  ["all", "All"],
];
const THEME_STORAGE = "usage-ledger.theme";
type ThemeChoice = "auto" | "light" | "dark";

const app = document.getElementById("app")!;
const darkQuery = window.matchMedia("(prefers-color-scheme: dark)");

function themeChoice(): ThemeChoice {
  const stored = localStorage.getItem(THEME_STORAGE);
  return stored === "light" || stored === "dark" ? stored : "auto";
}

/** The theme in force: the choice, or the system's for "auto". */
function resolvedTheme(): "light" | "dark" {
  const choice = themeChoice();
  return choice === "auto" ? (darkQuery.matches ? "dark" : "light") : choice;
}

function applyTheme(): void {
  document.documentElement.dataset.theme = resolvedTheme();
}

function showLogin(message = ""): void {
  storeKey(undefined);
  const input = el("input", {
    attrs: {
      type: "password",
      autocomplete: "current-password",
      placeholder: "management key",
      "aria-label": "Management key",
      "data-testid": "key-input",
    },
  });
  const error = el("p", { class: "bad small", text: message, attrs: { role: "alert", "data-testid": "login-error" } });
  const button = el("button", { text: "Open the dashboard", attrs: { type: "submit", "data-testid": "login" } });
  const form = el("form", { class: "login" }, [
    el("h1", { text: "usage-ledger" }),
    el("p", {
      class: "muted",
      text: "The fleet's usage, cost and health. Enter the ledger's management key; it is kept in this tab only.",
    }),
    input,
    button,
    error,
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === "") return;
    button.disabled = true;
    const api = new Api(key);
    api.get<Overview>(`${LEDGER}/overview`, { range: "7h" }).then(
      () => {
        storeKey(key);
        showDashboard(api);
      },
      (failure: unknown) => {
        button.disabled = false;
        error.textContent =
          failure instanceof Refused ? `Refused: ${failure.message}` : `Cannot reach the ledger: ${String((failure as Error).message)}`;
      },
    );
  });
  replaceChildren(app, [form]);
  input.focus();
}

function showDashboard(api: Api): void {
  let range: RangeName = (localStorage.getItem("usage-ledger.range") as RangeName | null) ?? "24h";
  if (!RANGES.some(([name]) => name === range)) range = "24h";
  let timer: number | undefined;
  let stopped = false;
  let knownModels: string[] = [];
  let pricesLoaded = false;

  const banner = el("p", { class: "banner", attrs: { role: "alert", "data-testid": "error-banner" } });
  banner.hidden = true;
  const live = el("span", { class: "live muted small", attrs: { "data-testid": "updated" } });
  const rangeGroup = el("div", { class: "segmented", attrs: { role: "group", "aria-label": "Range" } });
  const themeSelect = el("select", { attrs: { "aria-label": "Theme", "data-testid": "theme" } }, [
    el("option", { text: "auto", attrs: { value: "auto" } }),
    el("option", { text: "light", attrs: { value: "light" } }),
    el("option", { text: "dark", attrs: { value: "dark" } }),
  ]);
  themeSelect.value = themeChoice();
  const importInput = el("input", { attrs: { type: "file", accept: "application/json,.json", "data-testid": "import-file", hidden: "" } });
  const importStatus = el("span", { class: "small", attrs: { "data-testid": "import-status", role: "status" } });

  const cards = new Cards();
  const health = new HealthGrid();
  const trends = new Trends();
  const tables = new UsageTables();
  const requests = new RecentRequests();
  const prices = new PriceEditor();

  const fail = (error: unknown): void => {
    if (error instanceof Refused) {
      stopped = true;
      window.clearTimeout(timer);
      showLogin(`Signed out: ${error.message}`);
      return;
    }
    banner.hidden = false;
    banner.textContent = `Not updated: ${error instanceof Error ? error.message : String(error)} (retrying)`;
  };

  const refresh = async (): Promise<void> => {
    window.clearTimeout(timer);
    try {
      const offset = -new Date().getTimezoneOffset();
      const [overview, series, tableData] = await Promise.all([
        api.get<Overview>(`${LEDGER}/overview`, { range }),
        api.get<Series>(`${LEDGER}/series`, {
          range,
          granularity: trends.granularity,
          utc_offset_minutes: offset,
          models: trends.chosen.size === 0 ? undefined : [...trends.chosen].join(","),
        }),
        api.get<Tables>(`${LEDGER}/tables`, { range }),
      ]);
      const theme = resolvedTheme();
      cards.update(overview, theme);
      health.update(overview);
      knownModels = tableData.models.map((row) => row.model);
      trends.update(series, knownModels, theme);
      tables.update(tableData);
      await requests.refresh(api, range, fail);
      if (!pricesLoaded) {
        await prices.load(api, knownModels, () => void refresh());
        pricesLoaded = true;
      }
      banner.hidden = true;
      const pending = overview.feed.pending > 0 ? ` · catching up, ${formatCount(overview.feed.pending)} details to go` : "";
      live.textContent = `Live · updated ${new Date(overview.generated_at).toLocaleTimeString()}${pending}`;
      live.dataset.generatedAt = overview.generated_at;
    } catch (error) {
      fail(error);
    }
    if (!stopped) timer = window.setTimeout(() => void (document.hidden ? undefined : refresh()), REFRESH_MS);
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !stopped) void refresh();
  });

  const drawRange = (): void =>
    replaceChildren(
      rangeGroup,
      RANGES.map(([name, label]) =>
        el("button", {
          class: name === range ? "on" : "",
          text: label,
          attrs: { "aria-pressed": String(name === range), "data-testid": `range-${name}` },
          on: {
            click: () => {
              range = name;
              // Each range starts with its own buckets: hours for 7h and 24h, days for 7 days and all.
              trends.granularity = undefined;
              localStorage.setItem("usage-ledger.range", name);
              drawRange();
              void refresh();
            },
          },
        }),
      ),
    );
  drawRange();
  trends.listen(() => void refresh());
  themeSelect.addEventListener("change", () => {
    localStorage.setItem(THEME_STORAGE, themeSelect.value);
    applyTheme();
    void refresh();
  });

  const exportUsage = async (): Promise<void> => {
    try {
      const text = await api.text("/v0/management/usage/export");
      const stamp = new Date().toISOString().replace(/[:]/g, "").replace(/\..*/, "");
      download(`usage-export-${stamp}.json`, new Blob([text], { type: "application/json" }));
    } catch (error) {
      fail(error);
    }
  };
  importInput.addEventListener("change", () => {
    const file = importInput.files?.[0];
    if (file === undefined) return;
    importStatus.textContent = `Importing ${file.name}…`;
    file
      .text()
      .then((text) => api.send<{ added: number; skipped: number }>("POST", "/v0/management/usage/import", text))
      .then(
        (result) => {
          importStatus.textContent = `Imported ${file.name}: ${formatCount(result.added)} added, ${formatCount(result.skipped)} already held.`;
          void refresh();
        },
        (error: unknown) => {
          importStatus.textContent = `Import failed: ${error instanceof Error ? error.message : String(error)}`;
        },
      )
      .finally(() => {
        importInput.value = "";
      });
  });

  const header = el("header", { class: "top" }, [
    el("div", { class: "brand" }, [el("h1", { text: "usage-ledger" }), live]),
    rangeGroup,
    el("div", { class: "actions" }, [
      el("button", {
        class: "secondary",
        text: "Export",
        attrs: { "data-testid": "export-usage" },
        on: { click: () => void exportUsage() },
      }),
      el("button", {
        class: "secondary",
        text: "Import",
        attrs: { "data-testid": "import-usage" },
        on: { click: () => importInput.click() },
      }),
      themeSelect,
      el("button", {
        class: "secondary",
        text: "Sign out",
        on: {
          click: () => {
            stopped = true;
            window.clearTimeout(timer);
            showLogin();
          },
        },
      }),
    ]),
    importInput,
  ]);
  replaceChildren(app, [
    header,
    importStatus,
    banner,
    cards.root,
    health.root,
    trends.root,
    tables.root,
    requests.root,
    prices.root,
    el("footer", { class: "muted small" }, [
      "Times in your time zone; ranges are whole hours (7 h = this hour and the 6 before it). Cost = (input − cached) × input price + cached × cached price + output × output price (+ reasoning × reasoning price where set), per 1M tokens.",
    ]),
  ]);
  void refresh();
}

applyTheme();
darkQuery.addEventListener("change", applyTheme);
const key = storedKey();
if (key === undefined) showLogin();
else showDashboard(new Api(key));
