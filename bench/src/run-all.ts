import { runBench } from "./bench-main";

/** `pnpm bench` (`tsx bench/src/run-all.ts [--quick]`): every end-to-end benchmark of issue 8 (see bench-main.ts and BENCHMARKS.md). */
await runBench(process.argv.slice(2));
