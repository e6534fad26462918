import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "tools/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
          testTimeout: 60_000,
          // Unit tests first, then the integration tier with its own worker limit.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: ["packages/*/test/**/*.int.test.ts", "services/*/test/**/*.int.test.ts", "infra/**/*.int.test.ts"],
          globalSetup: [
            "./packages/kafka-broker/src/vitest-global-setup.ts",
            "./services/aggregator/test/support/chromium-global-setup.ts",
          ],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          // 2 cores and one broker: two test files at a time keep the broker responsive.
          maxWorkers: 2,
          pool: "forks",
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
