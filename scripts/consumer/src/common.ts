// What every consumer app checks: a job enqueued inside the app's own
// transaction exists after COMMIT and a worker finishes it; one enqueued in
// a rolled-back transaction leaves nothing.
import { createQueue, type Driver, defineTask, silentLogger } from "@q/core";

export const databaseUrl =
  process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const tasks = {
  receipt: defineTask({ handler: async ({ orderId }: { orderId: number }) => ({ sent: orderId }) }),
};

/** A queue over `driver` in a schema of its own, migrated. */
export async function queueOver<Tx>(driver: Driver<Tx>, name: string) {
  const schema = `q_consumer_${name}_${process.pid}`;
  const queue = createQueue({ driver, schema, tasks, logger: silentLogger });
  await queue.migrate();
  return { queue, schema };
}

/** Works the committed job to `finished`; fails loudly otherwise. */
export async function expectFinished(
  queue: Awaited<ReturnType<typeof queueOver>>["queue"],
  committed: string,
  rolledBack: string | undefined,
): Promise<void> {
  const worker = await queue.work({ pollInterval: 50 });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const job = await queue.getJob(committed);
    if (job?.state === "finished") break;
    if (Date.now() > deadline) throw new Error(`job ${committed} did not finish: ${job?.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await worker.stop();
  if (rolledBack !== undefined && (await queue.getJob(rolledBack)) !== null) {
    throw new Error("the rolled-back job exists");
  }
  await queue.close();
}
