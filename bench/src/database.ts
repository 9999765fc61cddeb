import pg from "pg";

/** The URL of another database on the same server as `adminUrl`. */
export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs statements on the admin connection (CREATE/DROP DATABASE cannot run in a transaction). */
export async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** One statement on a given database, on a connection of its own. */
export async function queryOn<R extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

let counter = 0;

/**
 * Creates a fresh database, hands its URL to `fn`, and drops it afterwards
 * (forcing off any connection a library left behind).
 */
export async function withFreshDatabase<T>(
  adminUrl: string,
  label: string,
  fn: (url: string) => Promise<T>,
): Promise<T> {
  counter += 1;
  const name = `bench_${label.replace(/[^a-z0-9]+/gi, "_").toLowerCase()}_${process.pid}_${counter}`;
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  try {
    return await fn(databaseUrl(adminUrl, name));
  } finally {
    // A closed pool's sockets may still be closing: give them a moment, so the
    // forced drop does not hit a library's idle connection with an error.
    for (let i = 0; i < 40; i++) {
      const rows = await queryOn<{ n: string }>(
        adminUrl,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1",
        [name],
      );
      if (Number(rows[0]?.n) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

/** The server's version, for the report. */
export async function serverVersion(adminUrl: string): Promise<string> {
  const rows = await queryOn<{ v: string }>(
    adminUrl,
    "SELECT current_setting('server_version') AS v",
  );
  return rows[0]?.v ?? "unknown";
}

/**
 * A pool with an error listener: `pool.end()` resolves before its sockets are
 * closed, so the DROP DATABASE … WITH (FORCE) that follows may still reach an
 * idle client. That one error is expected; any other is printed.
 */
export function openPool(url: string, max?: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, ...(max === undefined ? {} : { max }) });
  pool.on("error", (error: Error & { code?: string }) => {
    if (error.code !== "57P01") console.error("idle connection error:", error.message);
  });
  return pool;
}
