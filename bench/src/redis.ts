import { Redis } from "ioredis";

/** Whether a Redis answers PING at `redisUrl` within a second; the reason when not. */
export async function redisReachable(redisUrl: string): Promise<true | string> {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause: string | undefined;
  client.on("error", (error: Error) => {
    cause ??= error.message;
  });
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch (error) {
    return cause ?? (error instanceof Error ? error.message : String(error));
  } finally {
    client.disconnect();
  }
}
