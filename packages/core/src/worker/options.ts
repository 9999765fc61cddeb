import { hostname } from "node:os";
import { QError } from "../errors.js";
import { assertQueueName } from "../names.js";
import { intOption, msOption } from "../options.js";
import type { TaskMap } from "../task.js";

/** Options of {@link Queue.work}. */
export interface WorkOptions {
  /** Queues to take jobs from. Default: every queue the tasks name (`"default"` when none). */
  queues?: string[];
  /** Handlers running at once. Default 10. */
  concurrency?: number;
  /**
   * Jobs claimed ahead of free slots, so handlers never wait on a round trip and
   * claims come in batches. `"auto"` (default) sizes it to what this worker
   * finishes in about a quarter second, up to 150: large for quick jobs, near
   * zero for slow ones, so one worker does not hoard a queue. A number fixes it.
   */
  prefetch?: number | "auto";
  /** Poll for due jobs this often even without notifications. Default 1000 ms. */
  pollInterval?: number;
  /** A worker silent this long is dead and its jobs are rescued. Default 30 000 ms. */
  leaseTimeout?: number;
  /** Heartbeat period; keep well under `leaseTimeout`. Default: a third of it, at most 5000 ms. */
  heartbeatInterval?: number;
  /** How often this worker looks for jobs of dead workers. Default: half of `leaseTimeout`. */
  rescueInterval?: number;
  /** On `stop()`, how long running handlers may finish before their signal aborts. Default 10 000 ms. */
  shutdownTimeout?: number;
  /** Settlements are written together within this window. Default 2 ms. */
  settleDelay?: number;
  /**
   * A claim, settle, heartbeat or rescue that does not answer within this
   * many ms is abandoned (an `error` event with `STATEMENT_TIMEOUT`) and the
   * worker carries on. Default: half the lease, at most 10 000 ms.
   */
  statementTimeout?: number;
  /**
   * A readable name for this worker in logs and in the workers table. Default
   * `host:pid`. The id always gets a random suffix: a restarted process must
   * never pass for the dead one, whose claimed jobs are rescued by the lease.
   */
  name?: string;
}

/** Worker options, checked, with defaults filled in. */
export interface WorkSettings {
  id: string;
  queues: string[];
  concurrency: number;
  /** A fixed prefetch, or undefined for auto. */
  prefetch: number | undefined;
  pollInterval: number;
  leaseTimeout: number;
  heartbeatInterval: number;
  rescueInterval: number;
  shutdownTimeout: number;
  settleDelay: number;
  statementTimeout: number;
}

/** Checks the options (bad ones throw `INVALID_OPTION` or a name error) and fills in defaults. */
export function workSettings(options: WorkOptions, tasks: TaskMap): WorkSettings {
  const taskQueues = Object.values(tasks).map((t) => t.queue ?? "default");
  const queues = [...new Set(options.queues ?? (taskQueues.length ? taskQueues : ["default"]))];
  if (queues.length === 0) {
    throw new QError("INVALID_OPTION", "queues must name at least one queue", {
      details: { option: "queues" },
    });
  }
  for (const q of queues) assertQueueName(q);
  const leaseTimeout = msOption("leaseTimeout", options.leaseTimeout ?? 30_000, 100);
  const heartbeatInterval = msOption(
    "heartbeatInterval",
    options.heartbeatInterval ?? Math.min(5000, leaseTimeout / 3),
    10,
  );
  if (heartbeatInterval >= leaseTimeout) {
    throw new QError("INVALID_OPTION", "heartbeatInterval must be shorter than leaseTimeout", {
      details: { option: "heartbeatInterval" },
    });
  }
  return {
    id: `${options.name ?? `${hostname()}:${process.pid}`}:${Math.random().toString(36).slice(2, 10)}`,
    queues,
    concurrency: intOption("concurrency", options.concurrency ?? 10, 1, 10_000),
    prefetch:
      options.prefetch === undefined || options.prefetch === "auto"
        ? undefined
        : intOption("prefetch", options.prefetch, 0, 10_000),
    pollInterval: msOption("pollInterval", options.pollInterval ?? 1000, 10),
    leaseTimeout,
    heartbeatInterval,
    rescueInterval: msOption("rescueInterval", options.rescueInterval ?? leaseTimeout / 2, 10),
    shutdownTimeout: msOption("shutdownTimeout", options.shutdownTimeout ?? 10_000),
    settleDelay: msOption("settleDelay", options.settleDelay ?? 2),
    statementTimeout: msOption(
      "statementTimeout",
      options.statementTimeout ?? Math.min(10_000, leaseTimeout / 2),
      10,
    ),
  };
}
