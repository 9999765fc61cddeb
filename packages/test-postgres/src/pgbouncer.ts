/**
 * A PgBouncer of a test's own in front of a PostgreSQL, for tests of q
 * behind a connection pooler:
 *
 * ```ts
 * const missing = pgbouncerMissing(); // a reason to skip, or undefined
 * const bouncer = await startPgBouncer({ target: url, poolMode: "transaction" });
 * const pool = new pg.Pool({ connectionString: bouncer.url });
 * ...
 * await bouncer.stop();
 * ```
 *
 * It runs the `pgbouncer` binary (`PGBOUNCER` names another) as a process
 * of its own, never a system service: a config file in a fresh temp dir,
 * `127.0.0.1` and a free port only, trust authentication, every database
 * name forwarded to the same database of the target. As root it runs as the
 * `postgres` OS user, since PgBouncer refuses to run as root.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { answers, freePort } from "./probes.js";

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  /** Connection string of the PostgreSQL to pool (its user and password are used for the server side). */
  target: string;
  /** PgBouncer's `pool_mode`. Default `"transaction"`. */
  poolMode?: "session" | "transaction" | "statement";
  /** Server connections per database and user (`default_pool_size`). Default 10. */
  poolSize?: number;
}

/** A running PgBouncer. */
export interface PgBouncer {
  /** The target's connection string with its host and port replaced by the pooler's. */
  readonly url: string;
  readonly port: number;
  /** Stops the process and removes its directory. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** The `pgbouncer` binary: `PGBOUNCER`, else the first on `PATH` or in the sbin folders. */
export function pgbouncerBinary(): string | undefined {
  const named = process.env.PGBOUNCER;
  if (named) return named;
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/sbin",
    "/usr/local/sbin",
    "/usr/local/bin",
    "/opt/homebrew/bin",
  ];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, "pgbouncer");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/**
 * Why PgBouncer tests cannot run here (no binary), for `describe.skipIf`; or
 * `undefined` when they can. Where they must run (`Q_REQUIRE_PGBOUNCER` or
 * `CI` set), a missing binary throws instead, so CI never skips them quietly.
 */
export function pgbouncerMissing(): string | undefined {
  if (pgbouncerBinary() !== undefined) return undefined;
  const reason =
    "PgBouncer tests skipped: no `pgbouncer` binary (install it, e.g. `apt-get install pgbouncer`, or set PGBOUNCER to its path)";
  if (process.env.Q_REQUIRE_PGBOUNCER || process.env.CI) {
    throw new Error(`${reason}; they are required here (CI or Q_REQUIRE_PGBOUNCER)`);
  }
  console.warn(`[test-postgres] ${reason}`);
  return reason;
}

/** Starts a PgBouncer in front of `options.target`; resolves once a query goes through it. */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  if (binary === undefined) {
    throw new Error("no `pgbouncer` binary: install PgBouncer or set PGBOUNCER to its path");
  }
  const target = new URL(options.target);
  const user = decodeURIComponent(target.username) || "postgres";
  const password = decodeURIComponent(target.password);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "q-pgbouncer-"));
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  const config = join(dir, "pgbouncer.ini");
  const users = join(dir, "users.txt");
  const server = [
    `host=${target.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1"}`,
    `port=${target.port || "5432"}`,
    `user=${user}`,
    ...(password ? [`password=${password}`] : []),
  ].join(" ");
  await writeFile(users, `"${user}" ""\n`);
  await writeFile(
    config,
    [
      "[databases]",
      `* = ${server}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${users}`,
      `pool_mode = ${options.poolMode ?? "transaction"}`,
      "max_client_conn = 1000",
      `default_pool_size = ${options.poolSize ?? 10}`,
      "ignore_startup_parameters = extra_float_digits,options",
      "log_connections = 0",
      "log_disconnections = 0",
      "",
    ].join("\n"),
  );
  if (owner) {
    await chmod(dir, 0o755);
    for (const file of [dir, config, users]) await chown(file, owner.uid, owner.gid);
  }
  const child = spawn(binary, [config], {
    cwd: dir,
    stdio: ["ignore", "ignore", "pipe"],
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  live.add(child);
  installExitHook();
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      live.delete(child);
      resolve();
    });
    child.once("error", (error) => {
      log += `\n${String(error)}`;
      live.delete(child);
      resolve();
    });
  });
  const url = new URL(options.target);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  const bouncer: PgBouncer = {
    url: url.toString(),
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (live.has(child) && (await answers(bouncer.url, 1000))) return bouncer;
    if (!live.has(child) || Date.now() > deadline) {
      await bouncer.stop();
      throw new Error(`PgBouncer did not start on port ${port}:\n${log.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) =>
    Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8", stdio: "pipe" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch (error) {
    throw new Error("PgBouncer refuses to run as root, and there is no `postgres` OS user", {
      cause: error,
    });
  }
}

/** A test that ends without `stop()` leaves no PgBouncer running. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}
