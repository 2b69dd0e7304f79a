import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    // Two cores in CI; global-setup starts one moto server per worker slot.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 600_000,
    // Infrastructure tests call sst's initProject, which needs this or it looks up AWS bootstrap.
    env: {
      NODE_ENV: "test",
      // Node 20 is the mandated runtime; the SDK warns about its 2027 support window on every process.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
  },
});
