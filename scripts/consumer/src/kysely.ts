import { createKyselyDriver } from "@q/kysely";
import { createPgDriver } from "@q/pg";
import { CamelCasePlugin, Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { databaseUrl, expectFinished, queueOver } from "./common.ts";

interface Database {
  orders: { id: number };
}

const pool = new pg.Pool({ connectionString: databaseUrl });
pool.on("error", () => {});
const db = new Kysely<Database>({
  dialect: new PostgresDialect({ pool }),
  plugins: [new CamelCasePlugin()],
});
const driver = createKyselyDriver(db, { listener: createPgDriver(pool) });
const { queue, schema } = await queueOver(driver, "kysely");

const id = await db
  .transaction()
  .execute(async (trx) => (await queue.enqueue("receipt", { orderId: 1 }, { tx: trx })).id);
let dropped: string | undefined;
await db
  .transaction()
  .execute(async (trx) => {
    dropped = (await queue.enqueue("receipt", { orderId: 2 }, { tx: trx })).id;
    throw new Error("roll back");
  })
  .catch(() => {});

await expectFinished(queue, id, dropped);
await sql.raw(`DROP SCHEMA "${schema}" CASCADE`).execute(db);
await driver.close();
await db.destroy();
