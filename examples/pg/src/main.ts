// node-postgres: the order and its receipt job commit together, or neither exists.
import { createQueue, defineTask } from "@q/core";
import { createPgDriver } from "@q/pg";
import pg from "pg";

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
});
// An idle pooled client whose backend is terminated emits 'error' on the pool: without a
// listener that error would end the process. The pool replaces the client by itself.
pool.on("error", (error) => console.error("idle pg client lost:", error.message));
await pool.query(
  "DROP SCHEMA IF EXISTS shop_pg CASCADE; DROP SCHEMA IF EXISTS q_example_pg CASCADE",
);
await pool.query(
  "CREATE SCHEMA shop_pg; CREATE TABLE shop_pg.orders (id serial PRIMARY KEY, email text NOT NULL)",
);

const queue = createQueue({
  driver: createPgDriver(pool),
  schema: "q_example_pg",
  tasks: {
    sendReceipt: defineTask({
      handler: async ({ orderId }: { orderId: number }) => {
        console.log(`receipt sent for order ${orderId}`);
        return { orderId };
      },
    }),
  },
});
await queue.migrate();
const done = new Promise<void>((resolve) => queue.on("finished", () => resolve()));
const worker = await queue.work();

async function placeOrder(email: string, fail: boolean): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const { rows } = await client.query<{ id: number }>(
      "INSERT INTO shop_pg.orders (email) VALUES ($1) RETURNING id",
      [email],
    );
    const orderId = rows[0]!.id;
    await queue.enqueue("sendReceipt", { orderId }, { tx: client });
    if (fail) throw new Error("card declined");
    await client.query("COMMIT");
    return orderId;
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  } finally {
    client.release();
  }
}

const orderId = await placeOrder("ada@example.com", false);
await placeOrder("bob@example.com", true).catch((e: Error) =>
  console.log(`order rolled back: ${e.message}`),
);
await done;
await worker.stop();

const { rows } = await pool.query<{ n: number }>(
  "SELECT count(*)::int AS n FROM q_example_pg.jobs",
);
console.log(
  `order ${orderId} committed with its job; jobs in the table: ${rows[0]!.n} (the rolled-back order left none)`,
);
await pool.query("DROP SCHEMA shop_pg CASCADE; DROP SCHEMA q_example_pg CASCADE");
await pool.end();
if (rows[0]!.n !== 1) process.exit(1);
