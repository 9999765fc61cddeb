#!/usr/bin/env node
// The consumer test: installs q's packages the way a user gets them, from the
// tarballs `pnpm pack` makes, with npm, into an app outside the workspace.
// For every driver it typechecks (strict) an app that enqueues inside a
// transaction, and, when DATABASE_URL is set, runs it: the job must finish.
// It also typechecks the code blocks of the docs against the installed packages.
// Those apps run without @opentelemetry/api, an optional peer of @q/core; a
// second, small app installs it with the SDK and sees the spans of a job.
//
//   node scripts/consumer-test.mjs            (after `pnpm build`)
//   node scripts/consumer-test.mjs --keep     keeps the app folder to look at
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSnippets } from "./docs-snippets.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = join(root, "scripts", "consumer");
const app = mkdtempSync(join(tmpdir(), "q-consumer-"));
const tarballs = join(app, "tarballs");
mkdirSync(tarballs);

const run = (cmd, args, options = {}) =>
  execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", ...options });

function step(what, fn) {
  const started = Date.now();
  process.stdout.write(`consumer: ${what} … `);
  try {
    const out = fn();
    console.log(`ok (${Date.now() - started} ms)`);
    return out;
  } catch (error) {
    console.log("FAILED");
    console.error(String(error.stdout ?? ""), String(error.stderr ?? ""), error.message);
    throw error;
  }
}

let failed = false;
try {
  // Every published package: those under packages/ that are not private.
  const packages = readdirSync(join(root, "packages"))
    .map((dir) => ({
      dir,
      json: JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")),
    }))
    .filter(({ json }) => !json.private);

  step(`pack ${packages.map((p) => p.json.name).join(", ")}`, () => {
    for (const { dir } of packages) {
      run("pnpm", ["pack", "--pack-destination", tarballs], { cwd: join(root, "packages", dir) });
    }
  });

  // Nothing of the workspace may leak into a published manifest.
  step("no workspace: protocol in the packed manifests", () => {
    for (const file of readdirSync(tarballs)) {
      const manifest = run("tar", ["-xOzf", join(tarballs, file), "package/package.json"]);
      if (manifest.includes("workspace:")) throw new Error(`${file} still says workspace:`);
    }
  });

  cpSync(fixtures, app, { recursive: true });
  const clientVersions = JSON.parse(readFileSync(join(fixtures, "package.json"), "utf8"));
  const tgz = readdirSync(tarballs).map((f) => `./tarballs/${f}`);
  step(
    `npm install the tarballs with ${Object.keys(clientVersions.devDependencies).join(", ")}`,
    () =>
      run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...tgz], { cwd: app }),
  );

  step("one copy of @q/core in the app", () => {
    const list = run("npm", ["ls", "@q/core", "--all", "--parseable"], { cwd: app });
    const copies = new Set(
      list.split("\n").filter((l) => l.endsWith(join("node_modules", "@q", "core"))),
    );
    if (copies.size !== 1)
      throw new Error(`expected one @q/core, found:\n${[...copies].join("\n")}`);
  });

  // The apps below prove that q runs without the optional peer.
  step("no @opentelemetry/api in the app", () => {
    if (existsSync(join(app, "node_modules", "@opentelemetry", "api"))) {
      throw new Error("@opentelemetry/api got installed; the apps would not run without it");
    }
  });

  step("typecheck every app (strict)", () =>
    run(join(app, "node_modules", ".bin", "tsc"), ["-p", "."], { cwd: app }),
  );

  step("typecheck the TypeScript of every README and GUARANTEES.md", () => {
    const count = writeSnippets(root, join(app, "docs"));
    run(join(app, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.docs.json"], { cwd: app });
    return count;
  });

  // The `q` command of @q/cli, as npm linked it: it starts, and prints the same SQL as q-sql.
  step("npx q --help and q sql from the installed @q/cli", () => {
    const help = run("npx", ["--no-install", "q", "--help"], { cwd: app });
    if (!help.startsWith("Usage: q ")) throw new Error(`q --help printed:\n${help}`);
    const sql = run("npx", ["--no-install", "q", "sql", "--with", "none"], { cwd: app });
    const expected = run("npx", ["--no-install", "q-sql"], { cwd: app });
    if (sql !== expected) throw new Error("q sql --with none differs from q-sql");
  });

  const apps = readdirSync(join(app, "src")).filter((f) => f.endsWith(".ts") && f !== "common.ts");
  for (const file of apps) {
    const needsDatabase = !file.startsWith("memory");
    if (needsDatabase && !process.env.DATABASE_URL) {
      console.log(`consumer: ${file} skipped: no DATABASE_URL`);
      continue;
    }
    step(`run ${file}`, () =>
      run(process.execPath, [join("src", file)], { cwd: app, env: process.env }),
    );
  }

  // @q/core's tarball alone beside @opentelemetry/api and the SDK, in a memory queue.
  const otelApp = join(app, "otel");
  cpSync(join(root, "scripts", "consumer-otel"), otelApp, { recursive: true });
  const core = readdirSync(tarballs).find((f) => f.startsWith("q-core-"));
  step("npm install @q/core with @opentelemetry/api and the SDK", () =>
    run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", join(tarballs, core)], {
      cwd: otelApp,
    }),
  );
  step("run otel/src/main.ts: an enqueue's span and its run's span, linked", () =>
    run(process.execPath, [join("src", "main.ts")], { cwd: otelApp, env: process.env }),
  );
} catch {
  failed = true;
} finally {
  if (process.argv.includes("--keep")) console.log(`consumer: the app stays in ${app}`);
  else rmSync(app, { recursive: true, force: true });
}
if (failed) process.exit(1);
console.log("consumer: every app typechecked and ran");
