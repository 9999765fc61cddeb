import { constants } from "node:os";
import type { PrivateServer } from "@q/test-postgres/private-server";

/** How long `stop()` lets the demo's last connections close before it stops the server anyway. */
const SMART_STOP_MS = 5000;
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * A PostgreSQL for the demo: `DATABASE_URL` when set, else an embedded server
 * of its own (the same one the tests use when they have no server), which
 * `stop()` stops and removes, as does Ctrl-C.
 */
export async function database(): Promise<{ url: string; stop(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url) {
    console.log(
      "Using DATABASE_URL. The demo recreates its schemas q_demo and demo_shop there on each " +
        "run and leaves them for you to look at (DROP SCHEMA q_demo, demo_shop CASCADE removes them).",
    );
    return { url, stop: async () => {} };
  }

  console.log("No DATABASE_URL: starting an embedded PostgreSQL …");
  const { startPrivateServer } = await import("@q/test-postgres/private-server");
  const starting = startPrivateServer({ detached: true });

  // Ctrl-C: the server sits in a process group of its own, so it is up to us to stop it and
  // remove its files. What fails meanwhile (queries and workers cut short) no longer matters
  // and is not printed.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.on("uncaughtException", () => {});
    process.on("unhandledRejection", () => {});
    process.stderr.write(`\n${signal}: stopping the embedded PostgreSQL …\n`);
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      console[method] = () => {};
    }
    void starting
      .then((server) => server.destroy())
      .catch(() => {})
      .finally(() => process.exit(128 + constants.signals[signal]));
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);

  let server: PrivateServer;
  try {
    server = await starting;
  } catch (error) {
    if (interrupted) return new Promise(() => {}); // exiting
    console.error(
      `The embedded PostgreSQL did not start: ${error instanceof Error ? error.message : error}\n` +
        "Set DATABASE_URL=postgres://user@host:5432/db to run the demo on a PostgreSQL of your own.",
    );
    process.exit(1);
  }

  return {
    url: server.url,
    async stop() {
      // A smart shutdown waits until every client has gone: `pool.end()` resolves before its
      // connections have closed, and a faster stop would cut those with an error (57P01).
      const stopped = server.stop({ mode: "smart" });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        stopped,
        new Promise((resolve) => {
          timer = setTimeout(resolve, SMART_STOP_MS);
        }),
      ]);
      clearTimeout(timer);
      await server.destroy();
      for (const signal of SIGNALS) process.off(signal, onSignal);
    },
  };
}
