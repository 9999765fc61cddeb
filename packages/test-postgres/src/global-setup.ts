/**
 * vitest `globalSetup`: finds or starts a PostgreSQL once per test run and
 * provides its connection string as `inject("databaseUrl")`.
 *
 * In order: `DATABASE_URL` when set; a container through testcontainers when a
 * Docker engine seems to be there; an embedded PostgreSQL otherwise.
 *
 * @module
 */
import type { TestProject } from "vitest/node";
import "./index.js";
import { type Server, startContainer, startEmbedded } from "./servers.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await findServer();
  project.provide("databaseUrl", server.url);
  return () => server.stop();
}

async function findServer(): Promise<Server> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };
  const container = await startContainer();
  return container ?? (await startEmbedded());
}
