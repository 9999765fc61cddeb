import { createPgDriver } from "@q/pg";
import pg from "pg";
import { databaseUrl, expectFinished, queueOver } from "./common.ts";

const pool = new pg.Pool({ connectionString: databaseUrl });
pool.on("error", () => {});
const driver = createPgDriver(pool);
const { queue, schema } = await queueOver(driver, "pg");

const client = await pool.connect();
await client.query("BEGIN");
const { id } = await queue.enqueue("receipt", { orderId: 1 }, { tx: client });
await client.query("COMMIT");
await client.query("BEGIN");
const dropped = await queue.enqueue("receipt", { orderId: 2 }, { tx: client });
await client.query("ROLLBACK");
client.release();

await expectFinished(queue, id, dropped.id);
await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
await driver.close?.();
await pool.end();
