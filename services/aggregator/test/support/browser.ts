import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";

/** Debian's Chromium (the global setup installs it); `LEDGER_CHROMIUM` names another binary. */
export const CHROMIUM_PATH = process.env.LEDGER_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Headless Chromium driven by playwright-core (never a downloaded browser). The flags keep it off
 * the network: without the background-networking ones Chromium keeps calling home, which the
 * closed test network would see as a flood. Playwright gives every launch a fresh profile
 * (`--user-data-dir` in a new temporary folder).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--disable-extensions",
    ],
  });
}
