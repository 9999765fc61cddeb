import { type } from "arktype";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { silentLogger } from "../src/logger.js";
import { createQueue } from "../src/queue.js";
import { defineTask } from "../src/task.js";
import { MemoryStorage } from "../src/testing/index.js";

const libraries = {
  zod: z.object({ email: z.email(), count: z.number().int().default(1) }),
  valibot: v.object({ email: v.pipe(v.string(), v.email()), count: v.optional(v.number(), 1) }),
  arktype: type({ email: "string.email", "count?": "number.integer" }),
};

describe.each(Object.entries(libraries))("Standard Schema: %s", (_name, schema) => {
  it("validates before any write and stores the parsed payload", async () => {
    const storage = new MemoryStorage();
    const queue = createQueue({
      storage,
      logger: silentLogger,
      tasks: { welcome: defineTask({ schema, handler: async () => {} }) },
    });
    await expect(
      queue.enqueue("welcome", { email: "not-an-email" } as never),
    ).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
    expect(storage.jobs()).toHaveLength(0);
    const { id } = await queue.enqueue("welcome", { email: "a@example.com" });
    const job = await storage.getJob(id);
    expect((job!.payload as { email: string }).email).toBe("a@example.com");
  });
});

describe("types", () => {
  it("task names and payload types flow into enqueue", async () => {
    const queue = createQueue({
      storage: new MemoryStorage(),
      logger: silentLogger,
      tasks: {
        typed: defineTask({ schema: libraries.zod, handler: async (p) => p.email.length }),
        plain: defineTask({ handler: async (p: { id: number }) => p.id }),
      },
    });
    await queue.enqueue("plain", { id: 1 });
    await queue.enqueue("typed", { email: "a@example.com" });
    // @ts-expect-error: unknown task name
    await expect(queue.enqueue("nope", { id: 1 })).rejects.toMatchObject({ code: "UNKNOWN_TASK" });
    // @ts-expect-error: wrong payload type
    await queue.enqueue("plain", { id: "1" });
    await queue
      .enqueueMany([
        { task: "plain", payload: { id: 2 } },
        // @ts-expect-error: payload of another task
        { task: "typed", payload: { id: 3 } },
      ])
      .catch(() => {});
  });
});
