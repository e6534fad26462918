/** One target of issue 8 and whether the run met it. */
export interface TargetCheck {
  readonly key: string;
  readonly what: string;
  readonly value: number;
  readonly target: number;
  readonly direction: ">=" | "<=";
  readonly met: boolean;
  /** How far from the target: e.g. "23% short (77,000 of 100,000; 1.3x needed)" or "41% below the limit". */
  readonly margin: string;
}

function format(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return (Math.round(value * 1000) / 1000).toLocaleString("en-US");
}

/** Checks one figure against its target. */
export function checkTarget(key: string, what: string, value: number, direction: ">=" | "<=", target: number): TargetCheck {
  const met = direction === ">=" ? value >= target : value <= target;
  let margin: string;
  if (direction === ">=") {
    margin = met
      ? `${format((value / target - 1) * 100)}% above the target`
      : `${format((1 - value / target) * 100)}% short (${format(value)} of ${format(target)}; ${format(target / value)}x needed)`;
  } else {
    margin = met
      ? `${format((1 - value / target) * 100)}% below the limit`
      : `${format(value / target)}x the limit (${format(value)} against ${format(target)})`;
  }
  return { key, what, value, target, direction, met, margin };
}
