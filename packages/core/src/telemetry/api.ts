import type * as Otel from "@opentelemetry/api";

/** The `@opentelemetry/api` module. */
export type OtelApi = typeof Otel;

/** `@opentelemetry/api` as the app installed it, or why it could not be loaded. */
export type Loaded = { api: OtelApi; error?: undefined } | { api: null; error?: unknown };

let loading: Promise<Loaded> | undefined;

const NOT_FOUND = new Set(["ERR_MODULE_NOT_FOUND", "MODULE_NOT_FOUND"]);

/**
 * Imports `@opentelemetry/api` once per process. It is an optional peer: when
 * the app does not install it, this resolves to `{ api: null }` and q records
 * nothing. Any other failure to load it comes back as `error`, to be logged.
 * The comments keep bundlers from failing the build when it is absent; the API
 * keeps its state in a global registry, so a copy loaded at run time beside a
 * bundled one still sees the app's providers.
 */
export function loadOtel(): Promise<Loaded> {
  loading ??= import(/* webpackIgnore: true */ /* @vite-ignore */ "@opentelemetry/api").then(
    (module): Loaded => {
      // Through some CommonJS interop the named exports sit on `default`.
      const api = (module.trace === undefined ? module.default : module) as OtelApi | undefined;
      return api?.trace === undefined ? { api: null } : { api };
    },
    (error: unknown): Loaded => {
      const code = (error as { code?: unknown } | null)?.code;
      return typeof code === "string" && NOT_FOUND.has(code) ? { api: null } : { api: null, error };
    },
  );
  return loading;
}
