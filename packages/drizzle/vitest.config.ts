import { defineConfig } from "vitest/config";
import { reporters } from "../../vitest.shared.ts";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["@q/test-postgres/global-setup"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    ...reporters("drizzle"),
  },
});
