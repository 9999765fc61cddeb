// Drizzle: the order and its receipt job commit together in db.transaction, or neither exists.
import { createQueue, defineTask } from "@q/core";
import { createDrizzleDriver } from "@q/drizzle";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { pgSchema, serial, text } from "drizzle-orm/pg-core";
import pg from "pg";

const shop = pgSchema("shop_drizzle");
const orders = shop.table("orders", {
  id: serial("id").primaryKey(),
  email: text("email").notNull(),
});

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
});
// An idle pooled client whose backend is terminated emits 'error' on the pool: without a
// listener that error would end the process. The pool replaces the client by itself.
pool.on("error", (error) => console.error("idle pg client lost:", error.message));
const db = drizzle({ client: pool });
await db.execute(sql`DROP SCHEMA IF EXISTS shop_drizzle CASCADE`);
await db.execute(sql`DROP SCHEMA IF EXISTS q_example_drizzle CASCADE`);
await db.execute(sql`CREATE SCHEMA shop_drizzle`);
await db.execute(
  sql`CREATE TABLE shop_drizzle.orders (id serial PRIMARY KEY, email text NOT NULL)`,
);

const queue = createQueue({
  driver: createDrizzleDriver(db),
  schema: "q_example_drizzle",
  tasks: {
    sendReceipt: defineTask({
      handler: async ({ orderId }: { orderId: number }) => {
        console.log(`receipt sent for order ${orderId}`);
      },
    }),
  },
});
await queue.migrate();
const done = new Promise<void>((resolve) => queue.on("finished", () => resolve()));
const worker = await queue.work();

const orderId = await db.transaction(async (tx) => {
  const [order] = await tx.insert(orders).values({ email: "ada@example.com" }).returning();
  await queue.enqueue("sendReceipt", { orderId: order!.id }, { tx });
  return order!.id;
});
await db
  .transaction(async (tx) => {
    const [order] = await tx.insert(orders).values({ email: "bob@example.com" }).returning();
    await queue.enqueue("sendReceipt", { orderId: order!.id }, { tx });
    throw new Error("card declined");
  })
  .catch((e: Error) => console.log(`order rolled back: ${e.message}`));
await done;
await worker.stop();

const { rows } = await pool.query<{ n: number }>(
  "SELECT count(*)::int AS n FROM q_example_drizzle.jobs",
);
console.log(
  `order ${orderId} committed with its job; jobs in the table: ${rows[0]!.n} (the rolled-back order left none)`,
);
await db.execute(sql`DROP SCHEMA shop_drizzle CASCADE`);
await db.execute(sql`DROP SCHEMA q_example_drizzle CASCADE`);
await pool.end();
if (rows[0]!.n !== 1) process.exit(1);
