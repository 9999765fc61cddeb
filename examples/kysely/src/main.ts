// Kysely: the order and its receipt job commit together in db.transaction(), or neither exists.
import { createQueue, defineTask } from "@q/core";
import { createKyselyDriver } from "@q/kysely";
import { createPgDriver } from "@q/pg";
import { CamelCasePlugin, type Generated, Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";

interface Database {
  "shop_kysely.orders": { id: Generated<number>; customerEmail: string };
}

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
});
// An idle pooled client whose backend is terminated emits 'error' on the pool: without a
// listener that error would end the process. The pool replaces the client by itself.
pool.on("error", (error) => console.error("idle pg client lost:", error.message));
// Your plugins stay yours: q runs its SQL without them.
const db = new Kysely<Database>({
  dialect: new PostgresDialect({ pool }),
  plugins: [new CamelCasePlugin()],
});
await sql`DROP SCHEMA IF EXISTS shop_kysely CASCADE`.execute(db);
await sql`DROP SCHEMA IF EXISTS q_example_kysely CASCADE`.execute(db);
await sql`CREATE SCHEMA shop_kysely`.execute(db);
await sql`CREATE TABLE shop_kysely.orders (id serial PRIMARY KEY, customer_email text NOT NULL)`.execute(
  db,
);

// Kysely cannot LISTEN; lend it the pool through @q/pg so workers wake at once instead of polling.
const queue = createQueue({
  driver: createKyselyDriver(db, { listener: createPgDriver(pool) }),
  schema: "q_example_kysely",
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

const orderId = await db.transaction().execute(async (trx) => {
  const order = await trx
    .insertInto("shop_kysely.orders")
    .values({ customerEmail: "ada@example.com" })
    .returning("id")
    .executeTakeFirstOrThrow();
  await queue.enqueue("sendReceipt", { orderId: order.id }, { tx: trx });
  return order.id;
});
await db
  .transaction()
  .execute(async (trx) => {
    const order = await trx
      .insertInto("shop_kysely.orders")
      .values({ customerEmail: "bob@example.com" })
      .returning("id")
      .executeTakeFirstOrThrow();
    await queue.enqueue("sendReceipt", { orderId: order.id }, { tx: trx });
    throw new Error("card declined");
  })
  .catch((e: Error) => console.log(`order rolled back: ${e.message}`));
await done;
await worker.stop();

const { n } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM q_example_kysely.jobs`
  .execute(db)
  .then((r) => r.rows[0]!);
console.log(
  `order ${orderId} committed with its job; jobs in the table: ${n} (the rolled-back order left none)`,
);
await sql`DROP SCHEMA shop_kysely CASCADE`.execute(db);
await sql`DROP SCHEMA q_example_kysely CASCADE`.execute(db);
await db.destroy();
if (n !== 1) process.exit(1);
