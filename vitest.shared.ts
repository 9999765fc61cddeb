import { defineConfig } from "vitest/config";

/**
 * The vitest settings every package shares. `globalSetup` provides the
 * PostgreSQL for packages whose tests need one. When `Q_TEST_REPORTS` names a
 * directory (`.ci/run` sets it; under `CI` it defaults to `.ci/reports`), each
 * package also writes a JSON report there, which `.ci/run` sums into one
 * closing line.
 */
export function packageTestConfig(name: string, options: { globalSetup?: string } = {}) {
  const reports =
    process.env.Q_TEST_REPORTS ||
    (process.env.CI ? `${import.meta.dirname}/.ci/reports` : undefined);
  return defineConfig({
    test: {
      include: ["test/**/*.test.ts"],
      testTimeout: 20_000,
      hookTimeout: 30_000,
      ...(options.globalSetup ? { globalSetup: [options.globalSetup] } : {}),
      ...(reports
        ? {
            reporters: ["default", "json"],
            outputFile: { json: `${reports}/${name}.json` },
          }
        : {}),
    },
  });
}
