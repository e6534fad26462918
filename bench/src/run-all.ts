import { runBench } from "./bench-main";
import { loadBenchConfig } from "./bench-config";
import { benchDashboard } from "./dashboard-bench";

/** `pnpm bench` (`tsx bench/src/run-all.ts [--quick]`): every end-to-end benchmark of issue 8 (see bench-main.ts and BENCHMARKS.md). */
await runBench(process.argv.slice(2));
// The web dashboard with 10M details (issue 17): its own results file and BENCHMARKS.md section.
const config = loadBenchConfig(process.argv.slice(2), process.env);
if (config !== "help") await benchDashboard(config.sizes.quick);
