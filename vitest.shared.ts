import { defineConfig } from "vitest/config";

/**
 * The vitest settings every package shares. `globalSetup` provides the
 * PostgreSQL for packages whose tests need one. Under CI each package also
 * writes a JSON report, which `.ci/run` sums into one closing line.
 */
export function packageTestConfig(name: string, options: { globalSetup?: string } = {}) {
  return defineConfig({
    test: {
      include: ["test/**/*.test.ts"],
      testTimeout: 20_000,
      hookTimeout: 30_000,
      ...(options.globalSetup ? { globalSetup: [options.globalSetup] } : {}),
      ...(process.env.CI
        ? {
            reporters: ["default", "json"],
            outputFile: { json: `${import.meta.dirname}/.ci/reports/${name}.json` },
          }
        : {}),
    },
  });
}
