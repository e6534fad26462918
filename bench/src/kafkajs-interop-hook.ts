import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/**
 * A Node module-customization hook (registered by run-all.ts before anything imports kafkajs).
 *
 * Why: kafkajs is CommonJS, and Node's ESM loader only sees the named exports its static lexer
 * finds in `module.exports = {...}`; it stops at kafkajs's `CompressionTypes: Compression.Types`,
 * so `import { ConfigResourceTypes } from "kafkajs"` (packages/snapshots/src/topic.ts,
 * services/aggregator/src/topics.ts) fails under tsx with "does not provide an export named
 * 'ConfigResourceTypes'" (vitest's transform hides it). This hook serves kafkajs to ESM importers
 * as an ES module that re-exports every property of the one CommonJS instance (the same object
 * `require("kafkajs")` returns), so the system under test loads unchanged.
 */

interface LoadContext {
  readonly format?: string | null;
}
interface LoadResult {
  readonly format: string;
  readonly source?: string;
  readonly shortCircuit?: boolean;
}
type NextLoad = (url: string, context: LoadContext) => Promise<LoadResult>;

const KAFKAJS_ENTRY = /\/node_modules\/kafkajs\/index\.js$/;

/** The `load` hook: kafkajs's entry point becomes an ES module with every export named. */
export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  if (!KAFKAJS_ENTRY.test(url) || !url.startsWith("file:")) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const names = Object.keys(createRequire(url)(path) as Record<string, unknown>).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name));
  const source = [
    `import { createRequire } from "node:module";`,
    `const kafkajs = createRequire(${JSON.stringify(url)})(${JSON.stringify(path)});`,
    `export default kafkajs;`,
    ...names.map((name) => `export const ${name} = kafkajs.${name};`),
  ].join("\n");
  return { format: "module", source, shortCircuit: true };
}
