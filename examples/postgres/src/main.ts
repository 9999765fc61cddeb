// postgres.js: the order and its receipt job commit together in sql.begin, or neither exists.
import { createQueue, defineTask } from "@q/core";
import { createPostgresDriver } from "@q/postgres";
import postgres from "postgres";

// Your own settings stay yours: q's queries are unaffected by the camel transform.
const sql = postgres(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres", {
  transform: postgres.camel,
  onnotice: () => {},
});
await sql`DROP SCHEMA IF EXISTS shop_postgres CASCADE`;
await sql`DROP SCHEMA IF EXISTS q_example_postgres CASCADE`;
await sql`CREATE SCHEMA shop_postgres`;
await sql`CREATE TABLE shop_postgres.orders (id serial PRIMARY KEY, customer_email text NOT NULL)`;

const queue = createQueue({
  driver: createPostgresDriver(sql),
  schema: "q_example_postgres",
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

const orderId = await sql.begin(async (tx) => {
  const [order] = await tx<{ id: number }[]>`
    INSERT INTO shop_postgres.orders (customer_email) VALUES (${"ada@example.com"}) RETURNING id`;
  await queue.enqueue("sendReceipt", { orderId: order!.id }, { tx });
  return order!.id;
});
await sql
  .begin(async (tx) => {
    const [order] = await tx<{ id: number }[]>`
      INSERT INTO shop_postgres.orders (customer_email) VALUES (${"bob@example.com"}) RETURNING id`;
    await queue.enqueue("sendReceipt", { orderId: order!.id }, { tx });
    throw new Error("card declined");
  })
  .catch((e: Error) => console.log(`order rolled back: ${e.message}`));
await done;
await worker.stop();

const [{ n }] = (await sql`SELECT count(*)::int AS n FROM q_example_postgres.jobs`) as unknown as [
  { n: number },
];
console.log(
  `order ${orderId} committed with its job; jobs in the table: ${n} (the rolled-back order left none)`,
);
await sql`DROP SCHEMA shop_postgres CASCADE`;
await sql`DROP SCHEMA q_example_postgres CASCADE`;
await sql.end();
if (n !== 1) process.exit(1);
