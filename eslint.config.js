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
    // The pure core: no I/O of any kind (DEVELOPERS.md, "Pure core").
    files: ["packages/statistics/src/**/*.ts"],
    ignores: ["packages/statistics/src/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ioModules, message: "packages/statistics is the pure core: no I/O imports." }] },
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
          patterns: [{ group: ["kafkajs", "pino", "fastify", "node:net", "node:http"], message: "packages/wire has no Kafka and no I/O." }],
        },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
