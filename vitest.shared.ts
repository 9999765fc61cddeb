import { isAbsolute } from "node:path";
import { defineConfig } from "vitest/config";

/**
 * The vitest settings every package shares. `globalSetup` provides the
 * PostgreSQL for packages whose tests need one. Under `Q_TEST_REPORTS` (which
 * `.ci/run` sets) or `CI`, each package also writes a JSON report, which
 * `.ci/run` sums into one closing line: into `Q_TEST_REPORTS` when that is an
 * absolute path, else into `.ci/reports`.
 */
export function packageTestConfig(name: string, options: { globalSetup?: string } = {}) {
  const wanted = process.env.Q_TEST_REPORTS;
  const reports =
    wanted && isAbsolute(wanted)
      ? wanted
      : wanted || process.env.CI
        ? `${import.meta.dirname}/.ci/reports`
        : undefined;
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
