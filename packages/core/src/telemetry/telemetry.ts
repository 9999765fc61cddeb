import type { Meter, Tracer } from "@opentelemetry/api";
import { QError } from "../errors.js";
import type { QueueStats } from "../inspect.js";
import type { Logger } from "../logger.js";
import { msOption } from "../options.js";
import { type Loaded, loadOtel, meterLive, tracingLive } from "./api.js";
import { SCOPE } from "./attributes.js";
import { EnqueueSpans } from "./enqueue-span.js";
import { QueueGauges, STATS_INTERVAL_MS } from "./gauges.js";
import { JobMetrics } from "./metrics.js";
import { RunSpans } from "./run-span.js";
import type { EnqueueTracing, RunTracing, TelemetryOptions } from "./types.js";

/** Checks `createQueue`'s `telemetry` option; undefined when telemetry is off. */
export function telemetryOf(
  option: false | TelemetryOptions | undefined,
  logger: Logger,
): Telemetry | undefined {
  if (option === false) return undefined;
  const bad = (what: string, value: unknown) =>
    new QError("INVALID_OPTION", what, { details: { option: "telemetry", value } });
  if (option !== undefined && (typeof option !== "object" || option === null)) {
    throw bad("telemetry must be false or an object of options", option);
  }
  const o = option ?? {};
  if (o.tracerProvider !== undefined && typeof o.tracerProvider?.getTracer !== "function") {
    throw bad("telemetry.tracerProvider must have a getTracer method", o.tracerProvider);
  }
  if (o.meterProvider !== undefined && typeof o.meterProvider?.getMeter !== "function") {
    throw bad("telemetry.meterProvider must have a getMeter method", o.meterProvider);
  }
  if (o.continueTrace !== undefined && typeof o.continueTrace !== "boolean") {
    throw bad("telemetry.continueTrace must be a boolean", o.continueTrace);
  }
  if (o.statsInterval !== undefined) msOption("telemetry.statsInterval", o.statsInterval, 1000);
  return new Telemetry(o, logger);
}

/**
 * A queue's OpenTelemetry: spans on enqueue, spans and metrics of runs, and
 * the lag gauges while the queue works. Everything waits for
 * `@opentelemetry/api` to load; when the app does not have it, every method
 * does nothing.
 */
export class Telemetry {
  readonly #options: TelemetryOptions;
  readonly #logger: Logger;
  readonly #loading: Promise<Loaded>;
  #loaded: Loaded | undefined;
  /** Set once loaded: the enqueue spans, or null without the API. */
  #enqueue: EnqueueSpans | null | undefined;
  #tracer: Tracer | undefined;
  #gauges: QueueGauges | undefined;
  #watching = false;

  constructor(options: TelemetryOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
    this.#loading = loadOtel().then((loaded) => {
      if (loaded.error !== undefined) {
        logger.warn(
          { err: loaded.error },
          "@opentelemetry/api is installed but failed to load; q records no telemetry",
        );
      }
      this.#enqueue =
        loaded.api === null ? null : new EnqueueSpans(loaded.api, this.#tracerOf(loaded));
      this.#loaded = loaded;
      return loaded;
    });
  }

  #tracerOf(loaded: Loaded): Tracer {
    // The global provider hands out proxies that follow a provider registered later.
    this.#tracer ??= (this.#options.tracerProvider ?? loaded.api!.trace).getTracer(SCOPE) as Tracer;
    return this.#tracer;
  }

  /** The meter, asked for anew: the API's global meters do not follow a provider registered later. */
  #meterOf(loaded: Loaded): Meter {
    return (this.#options.meterProvider ?? loaded.api!.metrics).getMeter(SCOPE) as Meter;
  }

  /**
   * The enqueue spans: at once when the API has loaded (so an enqueue costs
   * no extra turn of the event loop), else a promise of them; null without it.
   */
  enqueueTracing(): EnqueueTracing | null | Promise<EnqueueTracing | null> {
    return this.#enqueue !== undefined
      ? this.#live(this.#enqueue)
      : this.#loading.then(() => this.#live(this.#enqueue!));
  }

  /** The enqueue spans while a tracer can record them, else null: no span is made for nobody. */
  #live(spans: EnqueueSpans | null): EnqueueSpans | null {
    return spans !== null && tracingLive(this.#loaded!.api!, this.#options.tracerProvider)
      ? spans
      : null;
  }

  /** The run telemetry of a new worker, or null without the API. */
  async runTracing(): Promise<RunTracing | null> {
    const loaded = await this.#loading;
    if (loaded.api === null) return null;
    const meter = this.#meterOf(loaded);
    return new RunSpans(loaded.api, this.#tracerOf(loaded), new JobMetrics(meter), {
      continueTrace: this.#options.continueTrace ?? false,
      provider: this.#options.tracerProvider,
      metered: meterLive(loaded.api, meter),
    });
  }

  /** Reports the lag gauges (from `stats`) until {@link Telemetry.unwatch}. */
  async watch(stats: () => Promise<QueueStats[]>): Promise<void> {
    if (this.#watching) return;
    this.#watching = true;
    // Once loaded, at once: the gauges report from the moment the worker is up.
    const loaded = this.#loaded ?? (await this.#loading);
    if (loaded.api === null || !this.#watching || this.#gauges !== undefined) return;
    this.#gauges = new QueueGauges(
      this.#meterOf(loaded),
      stats,
      this.#logger,
      this.#options.statsInterval ?? STATS_INTERVAL_MS,
    );
    this.#gauges.start();
  }

  /** Stops reporting the lag gauges. */
  unwatch(): void {
    this.#watching = false;
    this.#gauges?.stop();
    this.#gauges = undefined;
  }
}
