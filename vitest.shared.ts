/**
 * Shared vitest settings of the packages. Under CI each package also writes a
 * JSON report, which `.ci/run` sums into one closing line.
 */
export function reporters(name: string) {
  if (!process.env.CI) return {};
  return {
    reporters: ["default", "json"],
    outputFile: { json: `${import.meta.dirname}/.ci/reports/${name}.json` },
  };
}
