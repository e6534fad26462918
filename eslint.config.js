// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Imports that mean I/O; the pure statistics core may use none of them. */
const ioModules = [
  "kafkajs",
  "pino",
  "pino-*",
  "avsc",
  "fastify",
  "prom-client",
  "testcontainers",
  "@testcontainers/*",
  "node:*",
  ...[
    "fs",
    "fs/promises",
    "net",
    "tls",
    "http",
    "https",
    "http2",
    "dgram",
    "dns",
    "child_process",
    "cluster",
    "worker_threads",
    "os",
    "path",
    "stream",
    "process",
    "crypto",
    "zlib",
    "readline",
  ],
];

/**
 * Test helpers live in test/support/: shipped code never imports a test framework.
 * Every block below that sets no-restricted-imports repeats this group, since a later block's
 * options replace an earlier one's for the same file.
 */
const testFrameworkImports = {
  group: ["vitest", "vitest/*", "fast-check", "@fast-check/*"],
  message: "Test helpers belong in test/support/, not in src.",
};

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/.cache/**", "**/dist/**", "bench/results/**", "tools/lint-fixtures/**"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js", "*.mjs", ".ci/*.mjs"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      // kafkajs and fastify take async callbacks that often have nothing to await.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      "@typescript-eslint/consistent-type-imports": ["error", { prefer: "type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        { selector: "PropertyDefinition[computed=true][key.type='Identifier']", message: "No symbol-keyed private members." },
      ],
    },
  },
  {
    // Test helpers live in test/support/: shipped code never imports a test framework.
    files: ["packages/*/src/**/*.ts", "services/*/src/**/*.ts"],
    ignores: ["**/*.test.ts", "packages/kafka-broker/src/vitest-global-setup.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [testFrameworkImports],
        },
      ],
    },
  },
  {
    // The pure core: no I/O of any kind.
    files: ["packages/statistics/src/**/*.ts"],
    ignores: ["packages/statistics/src/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ioModules, message: "packages/statistics is the pure core: no I/O imports." }, testFrameworkImports] },
      ],
    },
  },
  {
    // The wire format is pure encode/decode: no Kafka, no logging, no I/O.
    files: ["packages/wire/src/**/*.ts"],
    ignores: ["packages/wire/src/**/*.test.ts", "packages/wire/src/schema-files.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["kafkajs", "pino", "fastify", "node:net", "node:http"], message: "packages/wire has no Kafka and no I/O." },
            testFrameworkImports,
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
