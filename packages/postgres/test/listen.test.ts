import type { ListenHandlers } from "@q/core";
import { waitFor } from "@q/core/testing";
import { freshSchemaName } from "@q/test-postgres";
import postgres from "postgres";
import { afterAll, describe, expect, inject, test } from "vitest";
import { createPostgresDriver } from "../src/index.js";

const url = inject("databaseUrl");
const app = freshSchemaName("q_listen");
const sql = postgres(url, { max: 2, connection: { application_name: app }, onnotice: () => {} });
const driver = createPostgresDriver(sql);

afterAll(async () => {
  await driver.close();
  await sql.end({ timeout: 5 });
});

const recorder = () => {
  const messages: string[] = [];
  let reconnects = 0;
  const handlers: ListenHandlers = {
    onMessage: (payload) => messages.push(payload),
    onReconnect: () => reconnects++,
  };
  return { messages, handlers, reconnects: () => reconnects };
};

const notify = (channel: string, payload: string) =>
  driver.query("SELECT pg_notify($1::text, $2::text)", [channel, payload]);

/** Ends the backend of the LISTEN connection, as a failover or an idle-session killer would. */
async function terminateListener(): Promise<void> {
  const killed = await driver.query<{ n: number }>(
    `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE application_name = $1::text AND query ILIKE 'listen%'`,
    [app],
  );
  expect(killed[0]!.n).toBe(1);
}

describe("listen", () => {
  test("delivers notifications until unlisten", async () => {
    const channel = freshSchemaName("ch");
    const r = recorder();
    const unlisten = await driver.listen!(channel, r.handlers);
    await notify(channel, "one");
    await waitFor(() => r.messages.length === 1, { what: "first notification" });
    await unlisten();
    await unlisten();
    await notify(channel, "two");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(r.messages).toEqual(["one"]);
    expect(r.reconnects()).toBe(0);
  });

  test("notifications sent inside a transaction arrive only after COMMIT", async () => {
    const channel = freshSchemaName("ch");
    const r = recorder();
    const unlisten = await driver.listen!(channel, r.handlers);
    await driver.transaction(async (tx) => {
      await tx.query("SELECT pg_notify($1::text, $2::text)", [channel, "committed"]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(r.messages).toEqual([]);
    });
    await waitFor(() => r.messages.length === 1, { what: "notification after commit" });
    await unlisten();
  });

  test("a handler that throws goes to onError and does not stop later notifications", async () => {
    const channel = freshSchemaName("ch");
    const errors: unknown[] = [];
    const seen: string[] = [];
    const unlisten = await driver.listen!(channel, {
      onMessage: (payload) => {
        seen.push(payload);
        if (payload === "bad") throw new Error("handler failed");
      },
      onError: (error) => errors.push(error),
    });
    await notify(channel, "bad");
    await notify(channel, "good");
    await waitFor(() => seen.length === 2, { what: "both notifications" });
    expect(errors).toHaveLength(1);
    await unlisten();
  });

  test("after the listening backend is terminated: onReconnect, then notifications again", async () => {
    const channel = freshSchemaName("ch");
    const r = recorder();
    const other = recorder();
    const unlisten = await driver.listen!(channel, r.handlers);
    const unlistenOther = await driver.listen!(`${channel}_b`, other.handlers);
    await terminateListener();
    await waitFor(() => r.reconnects() === 1 && other.reconnects() === 1, {
      what: "onReconnect on every subscription",
    });
    await notify(channel, "after");
    await notify(`${channel}_b`, "after b");
    await waitFor(() => r.messages.length === 1 && other.messages.length === 1, {
      what: "notifications after reconnect",
    });
    expect(r.messages).toEqual(["after"]);
    expect(other.messages).toEqual(["after b"]);
    await unlisten();
    await unlistenOther();
  });

  test("subscriptions of one channel share a listener, also across a reconnect", async () => {
    const channel = freshSchemaName("ch");
    const a = recorder();
    const b = recorder();
    const unlistenA = await driver.listen!(channel, a.handlers);
    const unlistenB = await driver.listen!(channel, b.handlers);
    await terminateListener();
    await waitFor(() => a.reconnects() === 1 && b.reconnects() === 1, { what: "onReconnect" });
    await unlistenA();
    await notify(channel, "one");
    await waitFor(() => b.messages.length === 1, { what: "b still subscribed" });
    await unlistenB();
    await notify(channel, "two");
    const c = recorder();
    const unlistenC = await driver.listen!(channel, c.handlers);
    await notify(channel, "three");
    await waitFor(() => c.messages.includes("three"), { what: "a new subscription" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(a.messages).toEqual([]);
    expect(b.messages).toEqual(["one"]);
    // "two" may still reach c (delivery is asynchronous); "three" arrives exactly once.
    expect(c.messages.filter((m) => m === "three")).toEqual(["three"]);
    await unlistenC();
  });
});
