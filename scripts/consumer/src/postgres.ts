import { createPostgresDriver } from "@q/postgres";
import postgres from "postgres";
import { databaseUrl, expectFinished, queueOver } from "./common.ts";

const sql = postgres(databaseUrl, { onnotice: () => {}, transform: postgres.camel });
const driver = createPostgresDriver(sql);
const { queue, schema } = await queueOver(driver, "postgres");

const id = await sql.begin(
  async (tx) => (await queue.enqueue("receipt", { orderId: 1 }, { tx })).id,
);
let dropped: string | undefined;
await sql
  .begin(async (tx) => {
    dropped = (await queue.enqueue("receipt", { orderId: 2 }, { tx })).id;
    throw new Error("roll back");
  })
  .catch(() => {});

await expectFinished(queue, id, dropped);
await sql.unsafe(`DROP SCHEMA "${schema}" CASCADE`);
await driver.close();
await sql.end();
