/**
 * Mounting a web-standard handler in Node's `http` server, Express or
 * Fastify's raw request and reply.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { TLSSocket } from "node:tls";

/** Options of {@link toNodeHandler}. */
export interface NodeHandlerOptions {
  /**
   * Take the protocol and host from `X-Forwarded-Proto` and `X-Forwarded-Host`
   * (set this only behind a proxy that sets them). Default `false`: the
   * socket's protocol and the `Host` header.
   */
  trustProxy?: boolean;
}

/** A Node `(req, res)` listener, as `http.createServer` and `app.use` take. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Bridges a `(Request) => Promise<Response>` handler to Node's `(req, res)`.
 * Express strips its mount path from `req.url`; the full `req.originalUrl` is
 * used when present, so give the dashboard the same `basePath` as the mount.
 *
 * @example
 * http.createServer(toNodeHandler(dashboard)).listen(3000);
 */
export function toNodeHandler(
  handler: (request: Request) => Promise<Response>,
  options: NodeHandlerOptions = {},
): NodeHandler {
  // Never rejects: `http.createServer` ignores the promise, and an unhandled
  // rejection would end the process.
  return async (req, res) => {
    let response: Response;
    try {
      response = await handler(toRequest(req, options));
    } catch {
      response = new Response("Internal error\n", { status: 500 });
    }
    try {
      await send(response, res);
    } catch {
      res.destroy();
    }
  };
}

function first(value: string | string[] | undefined): string | undefined {
  return (Array.isArray(value) ? value[0] : value)?.split(",")[0]?.trim();
}

/** A web `Request` for a Node request. */
export function toRequest(req: IncomingMessage, options: NodeHandlerOptions = {}): Request {
  const encrypted = (req.socket as Partial<TLSSocket>).encrypted === true;
  const protocol =
    (options.trustProxy ? first(req.headers["x-forwarded-proto"]) : undefined) ??
    (encrypted ? "https" : "http");
  const host =
    (options.trustProxy ? first(req.headers["x-forwarded-host"]) : undefined) ??
    req.headers.host ??
    "localhost";
  const path = (req as { originalUrl?: string }).originalUrl ?? req.url ?? "/";
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(":")) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(new URL(path, `${protocol}://${host}`), {
    method,
    headers,
    ...(hasBody
      ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" as const }
      : {}),
  });
}

async function send(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  res.end(Buffer.from(await response.arrayBuffer()));
}
