import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { CHROMIUM_PATH } from "./browser";

/**
 * Vitest global setup of the integration tests: makes sure Debian's Chromium is there for the
 * browser tests (test/*-browser.int.test.ts, management-center-cors.int.test.ts). CI runs as root on
 * a clean Debian machine, so it installs the `chromium` package with apt when it is missing; never a
 * browser download of its own. Elsewhere it says what to install.
 */
export default function setup(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root || !existsSync("/usr/bin/apt-get")) {
    throw new Error(
      `the browser tests need Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install chromium) or set LEDGER_CHROMIUM`,
    );
  }
  process.stdout.write(`[browser tests] installing Debian's chromium (apt-get)\n`);
  const apt = (args: string[]): void => {
    execFileSync("apt-get", ["-o", "DPkg::Lock::Timeout=600", ...args], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 15 * 60_000,
    });
  };
  apt(["update", "-qq"]);
  apt(["install", "-y", "-qq", "--no-install-recommends", "chromium"]);
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium, but ${CHROMIUM_PATH} is still missing`);
}
