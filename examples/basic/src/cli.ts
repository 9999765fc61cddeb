import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The `q` command of `@q/cli`, as npm links it into `node_modules/.bin`. */
function qBin(): string {
  const manifest = fileURLToPath(import.meta.resolve("@q/cli/package.json"));
  const { bin } = JSON.parse(readFileSync(manifest, "utf8")) as { bin: { q: string } };
  return join(dirname(manifest), bin.q);
}

/**
 * Runs `q counts` against the demo's database and schema and resolves with
 * what it printed (stdout, or its error line) and its exit status.
 */
export function qCounts(url: string, schema: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [qBin(), "counts", "--url", url, "--schema", schema],
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, output: code === 0 ? stdout.trimEnd() : `${stdout}${stderr}`.trimEnd() });
      },
    );
  });
}
