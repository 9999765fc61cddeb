/**
 * CSRF protection without server-side sessions: a signed double-submit
 * cookie. A GET sets a random seed in an HttpOnly, SameSite=Strict cookie;
 * every form carries HMAC(key, seed). A POST must bring both, matching, from
 * the dashboard's own origin. Another site can neither read the cookie nor
 * compute the token, and a token lifted from one browser is worthless in
 * another, whose cookie holds another seed.
 *
 * @module
 */

import type { webcrypto } from "node:crypto";

type CryptoKey = webcrypto.CryptoKey;

const COOKIE = "q_dashboard_csrf";
/** 32 random bytes in base64url. */
const SEED = /^[A-Za-z0-9_-]{43}$/;
const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Signs and checks the tokens of one dashboard. */
export class Csrf {
  readonly #key: Promise<CryptoKey>;

  /** With no secret, a random key of this instance only. */
  constructor(secret: string | undefined) {
    const algorithm = { name: "HMAC", hash: "SHA-256" } as const;
    this.#key =
      secret === undefined
        ? (crypto.subtle.generateKey(algorithm, false, ["sign", "verify"]) as Promise<CryptoKey>)
        : crypto.subtle.importKey("raw", encoder.encode(secret), algorithm, false, [
            "sign",
            "verify",
          ]);
  }

  /** The token that forms rendered for this seed carry. */
  async token(seed: string): Promise<string> {
    const mac = await crypto.subtle.sign("HMAC", await this.#key, message(seed));
    return base64url(new Uint8Array(mac));
  }

  /** True when `token` was signed for `seed` by this dashboard's key (in constant time). */
  async check(seed: string | null, token: string | null): Promise<boolean> {
    if (seed === null || token === null || !SEED.test(seed)) return false;
    const mac = fromBase64url(token);
    if (mac === null || mac.length !== 32) return false;
    return crypto.subtle.verify(
      "HMAC",
      await this.#key,
      mac as Uint8Array<ArrayBuffer>,
      message(seed),
    );
  }
}

function message(seed: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`q-dashboard-csrf:${seed}`);
}

/** A fresh seed for the cookie. */
export function newSeed(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The seed the request's cookie holds, when it holds a well-formed one. */
export function seedOf(request: Request): string | null {
  const header = request.headers.get("cookie");
  if (header === null) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (SEED.test(value)) return value;
  }
  return null;
}

/** The `Set-Cookie` value that stores `seed` for the dashboard's pages only. */
export function seedCookie(seed: string, basePath: string, secure: boolean): string {
  return `${COOKIE}=${seed}; Path=${basePath || "/"}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

/**
 * Whether a POST comes from a page of the dashboard's own origin (or one of
 * `allowed`). Browsers send `Origin` on every POST; where it is missing, Fetch
 * Metadata decides, and a client that sends neither (curl, a script) is left
 * to the token.
 */
export function fromOwnOrigin(request: Request, allowed: ReadonlySet<string>): boolean {
  const origin = request.headers.get("origin");
  if (origin !== null) return origin === new URL(request.url).origin || allowed.has(origin);
  const site = request.headers.get("sec-fetch-site");
  if (site !== null) return site === "same-origin";
  return true;
}
