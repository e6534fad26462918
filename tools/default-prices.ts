import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { calcPrice } from "@pydantic/genai-prices";

/**
 * The aggregator's default price table (services/aggregator/prices/default-prices.json), generated
 * from the price data bundled in the npm package @pydantic/genai-prices (maintained at
 * github.com/pydantic/genai-prices, from the providers' pricing pages). `pnpm prices:update`
 * rewrites the file after the package is upgraded; tools/default-prices.test.ts keeps the file
 * and the package in step.
 */

/** The file the aggregator loads when no price file is configured. */
export const DEFAULT_PRICES_FILE = resolve(import.meta.dirname, "..", "services", "aggregator", "prices", "default-prices.json");

/** Common models, by the provider genai-prices files them under and the name proxies report. */
const MODELS: ReadonlyArray<readonly [provider: string, model: string]> = [
  ["openai", "gpt-5"],
  ["openai", "gpt-5-mini"],
  ["openai", "gpt-5-nano"],
  ["openai", "gpt-4.1"],
  ["openai", "gpt-4.1-mini"],
  ["openai", "gpt-4.1-nano"],
  ["openai", "gpt-4o"],
  ["openai", "gpt-4o-mini"],
  ["openai", "o3"],
  ["openai", "o3-mini"],
  ["openai", "o4-mini"],
  ["anthropic", "claude-opus-4-1"],
  ["anthropic", "claude-sonnet-4-5"],
  ["anthropic", "claude-sonnet-4-20250514"],
  ["anthropic", "claude-haiku-4-5"],
  ["anthropic", "claude-3-5-haiku-20241022"],
  ["google", "gemini-2.5-pro"],
  ["google", "gemini-2.5-flash"],
  ["google", "gemini-2.5-flash-lite"],
  ["google", "gemini-2.0-flash"],
  ["deepseek", "deepseek-chat"],
  ["deepseek", "deepseek-reasoner"],
  ["x-ai", "grok-4"],
];

/** The package's version and its publication date (the date its bundled prices were released). */
const PACKAGE = { name: "@pydantic/genai-prices", version: "0.1.8", published: "2026-09-23" };

/** A price, or the base of a tiered one (tiers start beyond 200k-token prompts). */
function baseOf(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "object" && value !== null && typeof (value as { base?: unknown }).base === "number")
    return (value as { base: number }).base;
  return undefined;
}

/** The default price table as JSON text (what the file must hold). */
export function defaultPricesJson(): string {
  const models: Record<string, { input: number; output: number; cached_input: number }> = {};
  for (const [provider, model] of MODELS) {
    // Any small usage finds the model's price entry; the entry in force at the package's date.
    const found = calcPrice({ input_tokens: 1000, output_tokens: 1000 }, model, {
      providerId: provider,
      timestamp: new Date(`${PACKAGE.published}T00:00:00Z`),
    });
    if (found === null) throw new Error(`${PACKAGE.name} ${PACKAGE.version} has no price for ${provider}/${model}`);
    const input = baseOf(found.model_price.input_mtok);
    const output = baseOf(found.model_price.output_mtok);
    if (input === undefined || output === undefined) throw new Error(`${provider}/${model} has no input or output price`);
    models[model] = { input, output, cached_input: baseOf(found.model_price.cache_read_mtok) ?? input };
  }
  const table = {
    version: 1,
    as_of: PACKAGE.published,
    source: `${PACKAGE.name} ${PACKAGE.version} (npm; data maintained at github.com/pydantic/genai-prices from the providers' pricing pages); USD per 1M tokens, base tier`,
    models,
  };
  return `${JSON.stringify(table, null, 2)}\n`;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = defaultPricesJson();
  const before = readFileSync(DEFAULT_PRICES_FILE, { encoding: "utf8", flag: "a+" });
  writeFileSync(DEFAULT_PRICES_FILE, text);
  console.log(`${before === text ? "unchanged" : "written"}: ${DEFAULT_PRICES_FILE}`);
}
