import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createQueue, defineTask, type Queue, type TaskMap } from "@q/core";
import { createPgDriver } from "@q/pg";
import { freshSchemaName } from "@q/test-postgres";
import pg from "pg";
import { inject } from "vitest";

/** The built command, as a user runs it. */
export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node dist/bin.js …args` as a child process. The database comes from
 * `DATABASE_URL` in `env` (the test server's unless overridden); stdout is a
 * pipe, never a terminal.
 */
export function q(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<Ran> {
  const merged: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: inject("databaseUrl") };
  delete merged.FORCE_COLOR;
  delete merged.NO_COLOR;
  delete merged.Q_DEBUG;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: merged }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `q …` that must succeed: its stdout, or a failure that shows what it printed. */
export async function ok(args: readonly string[], env?: Record<string, string | undefined>) {
  const ran = await q(args, env);
  if (ran.code !== 0) {
    throw new Error(`q ${args.join(" ")} exited ${ran.code}:\n${ran.stderr}${ran.stdout}`);
  }
  return ran.stdout;
}

/** `q … --json` parsed. */
export async function json<T = unknown>(args: readonly string[]): Promise<T> {
  return JSON.parse(await ok([...args, "--json"])) as T;
}

export const tasks = {
  mail: defineTask({ queue: "mail", handler: async (_: { to: string }) => {} }),
  report: defineTask({ handler: async (_: { n: number }) => {} }),
} satisfies TaskMap;

/** A schema of its own for one test, a pool, and a queue over it (with the tasks above by default). */
export interface Fixture<T extends TaskMap = typeof tasks> {
  schema: string;
  pool: pg.Pool;
  queue: Queue<T>;
  /** `["--schema", schema, ...args]`. */
  args(...args: string[]): string[];
  close(): Promise<void>;
}

export async function fixture<T extends TaskMap = typeof tasks>(
  options: {
    tasks?: T;
    migrate?: boolean;
    plugins?: Parameters<typeof createQueue>[0]["plugins"];
  } = {},
): Promise<Fixture<T>> {
  const schema = freshSchemaName("cli");
  const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 4 });
  pool.on("error", () => {});
  const driver = createPgDriver(pool);
  const queue = createQueue({
    driver,
    schema,
    tasks: (options.tasks ?? tasks) as T,
    plugins: options.plugins ?? [],
  });
  if (options.migrate !== false) await queue.migrate();
  return {
    schema,
    pool,
    queue,
    args: (...args: string[]) => ["--schema", schema, ...args],
    async close() {
      await queue.close();
      await driver.close();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}
