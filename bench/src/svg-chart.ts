import type { Measured } from "./harness";

/** One scenario of the chart: our figure against the baseline's, in one unit. */
export interface ChartGroup {
  readonly title: string;
  readonly unit: string;
  readonly better: "higher" | "lower";
  readonly ours: { readonly label: string; readonly value: Measured };
  readonly baseline: { readonly label: string; readonly value: Measured };
}

const WIDTH = 960;
const LABEL_WIDTH = 250;
const BAR_AREA = 520;
const BAR_HEIGHT = 22;
const GROUP_HEIGHT = 96;
const TOP = 70;
const OURS = "#2b6cb0";
const BASELINE = "#a0aec0";

function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function format(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return (Math.round(value * 100) / 100).toLocaleString("en-US");
}

/**
 * A hand-written SVG bar chart: per scenario our median against the baseline's, each bar scaled to
 * the larger of the two (units differ between scenarios), with the min-max spread as a whisker
 * and the ratio in the group's title.
 */
export function renderChart(options: { title: string; subtitle: string; groups: readonly ChartGroup[] }): string {
  const height = TOP + options.groups.length * GROUP_HEIGHT + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="28" font-size="18" font-weight="bold">${escape(options.title)}</text>`,
    `<text x="20" y="50" fill="#4a5568">${escape(options.subtitle)}</text>`,
  ];
  options.groups.forEach((group, index) => {
    const y = TOP + index * GROUP_HEIGHT;
    const scale = Math.max(group.ours.value.max, group.baseline.value.max, Number.EPSILON);
    const ratio =
      group.better === "higher"
        ? group.ours.value.median / group.baseline.value.median
        : group.baseline.value.median / group.ours.value.median;
    parts.push(
      `<text x="20" y="${y + 14}" font-weight="bold">${escape(group.title)}</text>`,
      `<text x="${WIDTH - 20}" y="${y + 14}" text-anchor="end" fill="#2d3748">${escape(`${group.better} is better · ours ${format(ratio)}x ${group.better === "higher" || group.unit === "ms" ? "faster" : "smaller"}`)}</text>`,
    );
    const bars = [
      { ...group.ours, color: OURS, offset: 24 },
      { ...group.baseline, color: BASELINE, offset: 24 + BAR_HEIGHT + 8 },
    ];
    for (const bar of bars) {
      const by = y + bar.offset;
      const width = Math.max(1, (bar.value.median / scale) * BAR_AREA);
      const minX = LABEL_WIDTH + (bar.value.min / scale) * BAR_AREA;
      const maxX = LABEL_WIDTH + (bar.value.max / scale) * BAR_AREA;
      const mid = by + BAR_HEIGHT / 2;
      parts.push(
        `<text x="${LABEL_WIDTH - 10}" y="${mid + 4}" text-anchor="end">${escape(bar.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${by}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${bar.color}"/>`,
        `<line x1="${minX.toFixed(1)}" y1="${mid}" x2="${maxX.toFixed(1)}" y2="${mid}" stroke="#1a202c" stroke-width="1.5"/>`,
        `<line x1="${minX.toFixed(1)}" y1="${mid - 5}" x2="${minX.toFixed(1)}" y2="${mid + 5}" stroke="#1a202c" stroke-width="1.5"/>`,
        `<line x1="${maxX.toFixed(1)}" y1="${mid - 5}" x2="${maxX.toFixed(1)}" y2="${mid + 5}" stroke="#1a202c" stroke-width="1.5"/>`,
        `<text x="${(Math.max(LABEL_WIDTH + width, maxX) + 8).toFixed(1)}" y="${mid + 4}">${escape(`${format(bar.value.median)} ${group.unit}`)}</text>`,
      );
    }
  });
  const legendY = height - 18;
  parts.push(
    `<rect x="20" y="${legendY - 11}" width="14" height="14" fill="${OURS}"/>`,
    `<text x="40" y="${legendY}">usage-ledger</text>`,
    `<rect x="150" y="${legendY - 11}" width="14" height="14" fill="${BASELINE}"/>`,
    `<text x="170" y="${legendY}">baseline</text>`,
    `<text x="260" y="${legendY}" fill="#4a5568">bars: median of the runs; whiskers: min to max</text>`,
    `</svg>`,
  );
  return `${parts.join("\n")}\n`;
}
