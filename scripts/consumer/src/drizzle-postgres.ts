import { createDrizzleDriver } from "@q/drizzle";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { databaseUrl, expectFinished, queueOver } from "./common.ts";

const sql = postgres(databaseUrl, { onnotice: () => {} });
const db = drizzle({ client: sql });
const driver = createDrizzleDriver(db);
const { queue, schema } = await queueOver(driver, "drizzle_postgres");

const id = await db.transaction(
  async (tx) => (await queue.enqueue("receipt", { orderId: 1 }, { tx })).id,
);
let dropped: string | undefined;
await db
  .transaction(async (tx) => {
    dropped = (await queue.enqueue("receipt", { orderId: 2 }, { tx })).id;
    tx.rollback();
  })
  .catch(() => {});

await expectFinished(queue, id, dropped);
await sql.unsafe(`DROP SCHEMA "${schema}" CASCADE`);
await driver.close();
await sql.end();
