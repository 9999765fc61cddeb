import { once } from "node:events";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium } from "playwright-core";
import type { DashboardHandler } from "../src/index.js";
import { toNodeHandler } from "../src/node.js";

/** Debian's Chromium, which CI installs; `CHROMIUM_PATH` points elsewhere. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Why the browser tests cannot run here, or `null` when they can. Where
 * `Q_REQUIRE_CHROMIUM=1` (CI), a missing browser fails instead.
 */
export function chromiumMissing(): string | null {
  if (existsSync(chromiumPath)) return null;
  const why = `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.Q_REQUIRE_CHROMIUM === "1") throw new Error(`Q_REQUIRE_CHROMIUM=1 but ${why}`);
  return why;
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true });
}

/** The dashboard served by Node's http server on a free port of 127.0.0.1. */
export async function serve(
  handler: DashboardHandler,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(toNodeHandler(handler));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
