import { register } from "node:module";

/**
 * `pnpm bench` (`tsx bench/src/run-all.ts [--quick]`): every end-to-end benchmark of issue 8 (see
 * bench-main.ts and BENCHMARKS.md). The kafkajs interop hook goes in first: nothing that imports
 * kafkajs may load before it (hence the dynamic import).
 */
register("./kafkajs-interop-hook.ts", import.meta.url);
const { runBench } = await import("./bench-main");
await runBench(process.argv.slice(2));
