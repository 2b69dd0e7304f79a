// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * Type-checked linting. The rules that matter most here: promises that are never awaited or passed where a
 * callback's result is ignored, `any` flowing out of untyped input into typed code, and switches over the stage,
 * decision and status unions that must stay exhaustive when a member is added.
 */
export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      ".cache/**",
      ".sst.config.*",
      ".sst/**",
      ".build/**",
      "cdk.out/**",
      "packages/cli/dist/**",
      "bench/.data/**",
      ".venv/**",
      "coverage/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js", "*.mjs", "packages/*/*.mjs", "packages/*/bin/*.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // The SQLite stores implement promise-returning ports synchronously; `async` keeps a throw a rejection.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // Vitest's asymmetric matchers (expect.any, expect.objectContaining) are typed `any`, and `expect(store.method)`
    // passes methods unbound on purpose: in tests these rules flag the framework, not the code under test.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/unbound-method": "off",
      // Tests print JSON values they have just matched on; an object there is already a failed assertion.
      "@typescript-eslint/no-base-to-string": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
);
