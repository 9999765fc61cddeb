import { createDrizzleDriver } from "@q/drizzle";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { databaseUrl, expectFinished, queueOver } from "./common.ts";

const pool = new pg.Pool({ connectionString: databaseUrl });
pool.on("error", () => {});
const db = drizzle({ client: pool });
const driver = createDrizzleDriver(db);
const { queue, schema } = await queueOver(driver, "drizzle_pg");

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
await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
await driver.close();
await pool.end();
