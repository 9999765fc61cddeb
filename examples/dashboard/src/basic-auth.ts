import { timingSafeEqual } from "node:crypto";
import type { Authorize } from "@q/dashboard";

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * An authorisation hook for HTTP Basic: the right user and password get in;
 * anyone else gets a 401 that makes the browser ask. In an app, check your
 * own session instead (and the `access` argument, to let some people look
 * without acting).
 */
export function basicAuth(user: string, password: string): Authorize {
  const expected = `${user}:${password}`;
  return (request) => {
    const header = request.headers.get("authorization") ?? "";
    const given = header.startsWith("Basic ")
      ? Buffer.from(header.slice(6), "base64").toString("utf8")
      : "";
    if (same(given, expected)) return true;
    return new Response("Sign in to see the jobs\n", {
      status: 401,
      headers: { "www-authenticate": 'Basic realm="q dashboard", charset="UTF-8"' },
    });
  };
}
