import { defineConfig } from "vitest/config";

// `pnpm screenshots`: the README's pictures, from a real dashboard over a real database.
export default defineConfig({
  test: {
    include: ["scripts/screenshots.test.ts"],
    globalSetup: ["@q/test-postgres/global-setup"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
