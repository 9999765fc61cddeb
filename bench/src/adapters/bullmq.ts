import { type ConnectionOptions, Queue, Worker } from "bullmq";
import type { Adapter, Variant } from "../adapter.js";
import { measureDrain, measureLatency, type WorkerControl } from "../measure.js";

/** ioredis options for a redis:// URL. Workers need `maxRetriesPerRequest: null`. */
export function redisOptions(redisUrl: string): ConnectionOptions {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    db: Number(url.pathname.slice(1) || 0),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    maxRetriesPerRequest: null,
  };
}

let counter = 0;

/**
 * BullMQ on Redis. The "fresh database" of a scenario is a queue of its own
 * name, obliterated at teardown; nothing else in Redis is touched.
 */
export class BullMqAdapter implements Adapter {
  readonly library = "bullmq";
  readonly setting = "default";
  readonly #connection: ConnectionOptions;
  readonly #concurrency: number;
  readonly #name = `q-bench-${process.pid}-${++counter}`;
  #queue: Queue | undefined;
  #worker: Worker | undefined;

  constructor(redisUrl: string, concurrency: number) {
    this.#connection = redisOptions(redisUrl);
    this.#concurrency = concurrency;
  }

  get #q(): Queue {
    if (this.#queue === undefined) throw new Error("setup() first");
    return this.#queue;
  }

  async setup(): Promise<void> {
    this.#queue = new Queue(this.#name, { connection: this.#connection });
    await this.#queue.waitUntilReady();
  }

  async enqueueOne(i: number): Promise<void> {
    await this.#q.add("noop", { i });
  }

  async enqueueBulk(from: number, count: number): Promise<void> {
    await this.#q.addBulk(
      Array.from({ length: count }, (_, k) => ({ name: "noop", data: { i: from + k } })),
    );
  }

  #control(): WorkerControl {
    return {
      start: async (onJob) => {
        this.#worker = new Worker(
          this.#name,
          async (job) => {
            onJob((job.data as { i: number }).i);
          },
          { connection: this.#connection, concurrency: this.#concurrency },
        );
        this.#worker.on("error", (error) => console.error("bullmq worker error:", error));
        await this.#worker.waitUntilReady();
      },
      stop: async () => {
        await this.#worker?.close();
        this.#worker = undefined;
      },
      pending: async () => {
        const counts = await this.#q.getJobCounts("wait", "active", "delayed", "prioritized");
        return Object.values(counts).reduce((a, b) => a + b, 0);
      },
    };
  }

  drain(n: number, budgetMs: number) {
    return measureDrain(this.#control(), n, budgetMs);
  }

  latency(options: Parameters<Adapter["latency"]>[0]) {
    return measureLatency(this.#control(), (i) => this.enqueueOne(i), options);
  }

  async teardown(): Promise<void> {
    await this.#worker?.close();
    if (this.#queue !== undefined) {
      await this.#queue.obliterate({ force: true });
      await this.#queue.close();
    }
  }
}

export function bullMqVariants(redisUrl: string, concurrency: number): Variant[] {
  return [
    {
      library: "bullmq",
      setting: "default",
      store: "redis",
      workerOnly: false,
      create: () => new BullMqAdapter(redisUrl, concurrency),
    },
  ];
}
