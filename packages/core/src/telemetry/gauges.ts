import type { BatchObservableResult, Meter, ObservableGauge } from "@opentelemetry/api";
import type { QueueStats } from "../inspect.js";
import type { Logger } from "../logger.js";
import { DESTINATION, METRIC_LAG, METRIC_READY, SCOPE, SYSTEM } from "./attributes.js";

/** By default the gauges read `queue.stats()` at most this often, however often they are collected. */
export const STATS_INTERVAL_MS = 5000;

/**
 * Observable gauges of each queue's lag (how long its oldest due job has
 * waited) and of its due jobs, fed by `queue.stats()`. The statement runs only
 * when a metric reader collects, at most once per interval; a collection in
 * between reports the last answer again.
 */
export class QueueGauges {
  readonly #meter: Meter;
  readonly #lag: ObservableGauge;
  readonly #ready: ObservableGauge;
  readonly #stats: () => Promise<QueueStats[]>;
  readonly #logger: Logger;
  readonly #interval: number;
  #last: { at: number; stats: QueueStats[] } | undefined;
  #reading: Promise<QueueStats[]> | undefined;

  constructor(
    meter: Meter,
    stats: () => Promise<QueueStats[]>,
    logger: Logger,
    interval = STATS_INTERVAL_MS,
  ) {
    this.#meter = meter;
    this.#stats = stats;
    this.#logger = logger;
    this.#interval = interval;
    this.#lag = meter.createObservableGauge(METRIC_LAG, {
      description: "How long the oldest due job of the queue has waited",
      unit: "s",
    });
    this.#ready = meter.createObservableGauge(METRIC_READY, {
      description: "Jobs of the queue that are due and wait for a worker",
      unit: "{job}",
    });
  }

  start(): void {
    this.#meter.addBatchObservableCallback(this.#observe, [this.#lag, this.#ready]);
  }

  stop(): void {
    this.#meter.removeBatchObservableCallback(this.#observe, [this.#lag, this.#ready]);
  }

  readonly #observe = async (result: BatchObservableResult): Promise<void> => {
    for (const s of await this.#read()) {
      const attributes = { [SYSTEM]: SCOPE, [DESTINATION]: s.queue };
      result.observe(this.#lag, s.lagMs / 1000, attributes);
      result.observe(this.#ready, s.ready, attributes);
    }
  };

  #read(): Promise<QueueStats[]> {
    const last = this.#last;
    if (last !== undefined && performance.now() - last.at < this.#interval) {
      return Promise.resolve(last.stats);
    }
    this.#reading ??= this.#stats()
      .catch((error: unknown) => {
        // Report nothing rather than stale figures, and wait the interval before asking again.
        this.#logger.warn({ err: error }, "queue stats for the lag gauge failed");
        return [];
      })
      .then((stats) => {
        this.#last = { at: performance.now(), stats };
        this.#reading = undefined;
        return stats;
      });
    return this.#reading;
  }
}
