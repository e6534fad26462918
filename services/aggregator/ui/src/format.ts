const counts = new Intl.NumberFormat("en-US");

/** 1,234,567 */
export function formatCount(value: number): string {
  return counts.format(Math.round(value));
}

/** 1.23M, 45.6K, 789 */
export function formatCompact(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(2)}B`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}K`;
  return formatCount(value);
}

/** $1,234.56; below a cent with more digits; "–" when there is no price. */
export function formatUsd(value: number | null): string {
  if (value === null) return "–";
  if (value !== 0 && Math.abs(value) < 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** Requests per minute and the like: two decimals below 10. */
export function formatRate(value: number): string {
  if (value >= 100) return formatCount(value);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** 97.5% */
export function formatPercent(ratio: number | null): string {
  if (ratio === null) return "–";
  return `${(ratio * 100).toFixed(ratio >= 0.9995 || ratio === 0 ? 0 : 1)}%`;
}

/** 850 ms, 2.4 s */
export function formatMs(value: number | null): string {
  if (value === null) return "–";
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  return `${Math.round(value)} ms`;
}

/** A local date and time, to the second. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/**
 * An API name as shown: a client's API key is shortened (the Usage page masked them too, for
 * screen sharing); endpoints (`POST /v1/...`) and short names are shown whole.
 */
export function maskKey(name: string): string {
  if (/[\s/]/.test(name) || name.length <= 12) return name;
  return `${name.slice(0, 6)}…${name.slice(-4)}`;
}
