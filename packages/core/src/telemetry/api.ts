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

let noopTracers: unknown;

/**
 * Whether spans can record anything: a provider was given, or the app
 * registered one globally. Without one the API hands out spans that record
 * nothing, and q makes none: building them for every run cost a quick drain a
 * third more CPU and grew V8's young generation eightfold. Asked per run, so a
 * provider registered later is picked up.
 */
export function tracingLive(api: OtelApi, given: unknown): boolean {
  if (given !== undefined) return true;
  const global = api.trace.getTracerProvider();
  if (!(global instanceof api.ProxyTracerProvider)) return true;
  // An unregistered global proxy delegates to the API's no-op provider.
  noopTracers ??= new api.ProxyTracerProvider().getDelegate();
  return global.getDelegate() !== noopTracers;
}

/** Whether a meter records anything: not the API's no-op meter. */
export function meterLive(api: OtelApi, meter: unknown): boolean {
  return meter !== api.createNoopMeter();
}
