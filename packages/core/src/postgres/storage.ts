import type { Driver, Executor } from "../driver.js";
import { QError, sqlState } from "../errors.js";
import { assertJobId, compareIds } from "../ids.js";
import type { JobFilter, JobPage, PageOptions, QueueStats, StateCount } from "../inspect.js";
import { encodeCursor, JOB_STATES, listQuery } from "../inspect-query.js";
import type { ClaimedJob, Job, JobState } from "../job.js";
import { assertQueueName, assertSchemaName } from "../names.js";
import { intOption } from "../options.js";
import { isOwnTransaction } from "../own-transaction.js";
import type {
  Beat,
  CancelOutcome,
  Inserted,
  KeyConflict,
  NewJob,
  Notice,
  Rescued,
  Settled,
  Settlement,
  Storage,
  WorkerInfo,
} from "../storage.js";
import { copyRow } from "./copy-text.js";
import { coreMigrations, type Migration, migrationsTableSql } from "./migrations.js";
import { NotifyCoalescer } from "./notify-coalescer.js";
import { claimedFromRow, parseJob, textColumn } from "./rows.js";
import { checkSchema, checkVersions, Once } from "./schema-check.js";
import { checkServerVersion } from "./server-version.js";
import { listJobsStatement, type Statements, statements } from "./sql.js";

/** An insert that shared another's NOTIFY is covered by one sent at most this long after it. */
export const NOTIFY_WINDOW_MS = 10;

/** How long a new LISTEN may take to hear q's own NOTIFY before it is reported deaf. */
export const LISTEN_CHECK_MS = 3000;

/** Options of {@link PostgresStorage}. */
export interface PostgresStorageOptions {
  /** Schema that holds q's tables. Default `"q"`. */
  schema?: string;
  /** Migrations of plugins to apply after core's. */
  migrations?: readonly Migration[];
  /**
   * How long the first LISTEN may take to hear q's own NOTIFY before it is
   * reported deaf (`LISTEN_DEAF`), in ms. Default {@link LISTEN_CHECK_MS}.
   */
  listenCheckMs?: number;
  /**
   * A terminal state (finished, failed) that the planner thinks holds more
   * rows than this is counted from the planner's statistics (`exact: false`)
   * instead of row by row, so `counts()` stays cheap at any history size.
   * Ready and claimed jobs are always counted exactly. Default
   * {@link EXACT_COUNT_LIMIT}.
   */
  exactCountLimit?: number;
}

/**
 * A batch without keys of at least this many jobs goes in through COPY when
 * the driver can (`Executor.copyFrom`). COPY costs two round trips more than
 * the one INSERT (four outside a transaction: BEGIN, the ids, COPY's own,
 * COMMIT); on one machine it overtakes the INSERT at about 100 jobs and is
 * 35-50 % faster at 200, which leaves room for the round trips of a network.
 */
export const COPY_MIN_JOBS = 200;

/** Terminal jobs of one state up to which `countJobs` counts exactly. */
export const EXACT_COUNT_LIMIT = 100_000;

/** The planner's share of one (queue, terminal state) among all jobs. */
interface PairEstimate {
  queue: string;
  state: "finished" | "failed";
  freq: number;
}

/** Turns "relation does not exist" into an error that says what to do. */
function translate(error: unknown, schema: string): unknown {
  const state = sqlState(error);
  if (state === "42P01" || state === "3F000") {
    return new QError(
      "NOT_MIGRATED",
      `q's tables are missing in schema "${schema}": run queue.migrate() or apply the SQL printed by q-sql`,
      { cause: error },
    );
  }
  return error;
}

/** JSON text of one new job, with the payload spliced in as the JSON it already is. */
function newJobJson(j: NewJob): string {
  const rest = JSON.stringify({
    queue: j.queue,
    task: j.task,
    priority: j.priority,
    run_at: j.runAt?.toISOString() ?? null,
    delay: Math.round(j.delayMs),
    max_attempts: j.maxAttempts,
    key: j.key,
  });
  return `{"payload":${j.payload},"meta":${j.meta},${rest.slice(1)}`;
}

/**
 * A time `us` microseconds after the epoch as timestamptz text
 * (`2025-01-02T03:04:05.123456Z`): to the microsecond, whatever the session's
 * DateStyle or TimeZone.
 */
function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, -1)}${String(us - ms * 1000).padStart(3, "0")}Z`;
}

/**
 * The queues of `jobs` among `notify` that may hold a job due at once, as the
 * reservation's `$2`: `at` null when one is due now for sure (no run time,
 * no delay), else the earliest explicit run time, which the server compares
 * with its now(). A queue whose jobs all wait for a delay is left out.
 */
function dueQueues(jobs: readonly NewJob[], notify: readonly string[]): string {
  const wanted = new Set(notify);
  const earliest = new Map<string, Date | null>();
  for (const j of jobs) {
    if (!wanted.has(j.queue)) continue;
    const at = earliest.get(j.queue);
    if (at === null) continue;
    if (j.runAt === null) {
      if (Math.round(j.delayMs) === 0) earliest.set(j.queue, null);
    } else if (at === undefined || j.runAt < at) {
      earliest.set(j.queue, j.runAt);
    }
  }
  return JSON.stringify(
    [...earliest].map(([queue, at]) => ({ queue, at: at?.toISOString() ?? null })),
  );
}

/**
 * Finishes as JSON text. A result is already JSON text (the worker made it
 * storable), so it is spliced in rather than parsed and written again.
 */
function finishedJson(settlements: readonly Settlement[]): string {
  const parts = settlements.map((s) => {
    const result = s.kind === "finish" && s.result !== null ? s.result : "null";
    return `{"id":${JSON.stringify(s.id)},"token":${JSON.stringify(s.token)},"result":${result}}`;
  });
  return `[${parts.join(",")}]`;
}

/** The storage of q in PostgreSQL, over a driver. */
export class PostgresStorage implements Storage {
  readonly schema: string;
  readonly #driver: Driver;
  readonly #sql: Statements;
  readonly #migrations: readonly Migration[];
  /** Which inserts outside a transaction send their own NOTIFY. */
  readonly #notices = new NotifyCoalescer((queue) => {
    const payload = JSON.stringify({ type: "jobs", queue });
    // Losing it costs a poll interval of latency, never a job.
    this.#driver.query(this.#sql.notify, [payload]).catch(() => {});
  }, NOTIFY_WINDOW_MS);
  /** Whether the schema holds q's tables: checked once, on the pool. */
  readonly #schemaChecked = new Once(async () => {
    await checkSchema(this.#driver, this.#sql.tables, this.schema);
    await checkVersions(this.#driver, this.#sql, this.schema, this.#known);
  });
  /** The newest migration this process has, per owner. */
  readonly #known = new Map<string, number>();
  readonly #listenCheckMs: number;
  readonly #exactCountLimit: number;
  /**
   * Whether the driver's transactions can COPY (`copyFrom`): unknown until
   * the first large batch outside a transaction opens one.
   */
  #transactionsCopy: boolean | undefined;
  /** Whether a LISTEN of this storage heard its own probe, or was reported deaf: checked once. */
  #listenChecked = false;

  constructor(driver: Driver, options: PostgresStorageOptions = {}) {
    this.#driver = driver;
    this.schema = assertSchemaName(options.schema ?? "q");
    this.#sql = statements(this.schema);
    this.#migrations = [...coreMigrations, ...(options.migrations ?? [])];
    this.#listenCheckMs = options.listenCheckMs ?? LISTEN_CHECK_MS;
    this.#exactCountLimit =
      options.exactCountLimit === undefined
        ? EXACT_COUNT_LIMIT
        : intOption("exactCountLimit", options.exactCountLimit, 0, Number.MAX_SAFE_INTEGER);
    for (const m of this.#migrations) {
      this.#known.set(m.owner, Math.max(m.version, this.#known.get(m.owner) ?? 0));
    }
  }

  /** The executor for a caller's handle, or the pool. */
  executor(tx?: unknown): Executor {
    if (tx === undefined) return this.#driver;
    return isOwnTransaction(tx) ? tx : this.#driver.executorFor(tx);
  }

  /**
   * Before an operation's first statement: are q's tables there, and q's? A
   * missing table → `NOT_MIGRATED`, someone else's → `SCHEMA_CONFLICT`. Runs
   * on the pool, never on the caller's transaction, so a refusal leaves that
   * usable; once it passed, it is not asked again.
   */
  #ensureSchema(): Promise<void> | void {
    return this.#schemaChecked.run();
  }

  async #run<R extends Record<string, unknown>>(
    sql: string,
    params: readonly unknown[],
    ex: Executor = this.#driver,
  ): Promise<R[]> {
    try {
      return await ex.query<R>(sql, params);
    } catch (error) {
      throw translate(error, this.schema);
    }
  }

  async migrate(): Promise<void> {
    const s = this.schema;
    await this.#driver.transaction(async (tx) => {
      // A server older than q supports: refuse before anything else.
      await checkServerVersion(tx);
      // Serialises concurrent migrators; held until COMMIT.
      await tx.query(this.#sql.lock, [`q:migrate:${s}`]);
      // Someone else's jobs or workers table: refuse before writing anything.
      await checkSchema(tx, this.#sql.tables, s, { missingIsFine: true });
      await checkVersions(tx, this.#sql, s, this.#known);
      const present = JSON.parse(
        textColumn(await tx.query(this.#sql.present, [s]), "present") ?? "{}",
      ) as {
        schema?: boolean;
        migrations?: boolean;
      };
      if (!present.schema) await tx.query(`CREATE SCHEMA IF NOT EXISTS "${s}"`);
      if (!present.migrations) await tx.query(migrationsTableSql(s));
      const rows = await tx.query(this.#sql.applied);
      const applied = new Set(
        (JSON.parse(textColumn(rows, "rows") ?? "[]") as { owner: string; version: number }[]).map(
          (r) => `${r.owner}:${r.version}`,
        ),
      );
      for (const m of this.#migrations) {
        if (applied.has(`${m.owner}:${m.version}`)) continue;
        for (const statement of m.statements(s)) await tx.query(statement);
        await tx.query(
          `INSERT INTO "${s}".migrations (owner, version, name) VALUES ($1::text, $2::integer, $3::text)`,
          [m.owner, m.version, m.name],
        );
      }
    });
    this.#schemaChecked.pass();
  }

  async insert(jobs: NewJob[], conflict: KeyConflict, tx?: unknown): Promise<Inserted[]> {
    if (jobs.length === 0) return [];
    const ex = this.executor(tx);
    await this.#ensureSchema();
    const queues = [...new Set(jobs.map((j) => j.queue))];
    const copy = jobs.length >= COPY_MIN_JOBS && jobs.every((j) => j.key === null);
    // Inside the caller's transaction the NOTIFY always goes: it commits (or not) with it.
    if (tx !== undefined) {
      return copy && ex.copyFrom !== undefined
        ? this.#copy(jobs, ex, queues)
        : this.#insert(jobs, conflict, ex, JSON.stringify(queues));
    }
    const own = this.#notices.begin(queues);
    try {
      if (copy && this.#transactionsCopy !== false) {
        // Reserve, COPY and NOTIFY in one transaction of the driver's: all or nothing.
        return await this.#driver.transaction((inner) => {
          if (inner.copyFrom !== undefined) return this.#copy(jobs, inner, own);
          // Its transactions cannot COPY: say so once, and insert from now on.
          this.#transactionsCopy = false;
          return this.#insert(jobs, conflict, inner, JSON.stringify(own));
        });
      }
      return await this.#insert(jobs, conflict, ex, JSON.stringify(own));
    } finally {
      this.#notices.end(queues, own);
    }
  }

  /**
   * A batch without keys through COPY, on `ex` (a transaction): ids reserved
   * and the NOTIFY of `notify`'s queues with a job due now sent first, then
   * the rows. Stores what the insert stores, field for field: run_at is the
   * transaction's now() plus the delay unless a run time is given.
   */
  async #copy(jobs: NewJob[], ex: Executor, notify: readonly string[]): Promise<Inserted[]> {
    const rows = await this.#run(
      this.#sql.reserveKeyless,
      [jobs.length, dueQueues(jobs, notify)],
      ex,
    );
    const ids = (textColumn(rows, "ids") ?? "").split(",");
    const nowUs = Number(textColumn(rows, "now"));
    if (ids.length !== jobs.length || !Number.isSafeInteger(nowUs)) {
      throw new QError(
        "INVALID_HANDLE",
        "the driver's query() did not return the reserved ids and time as rows",
      );
    }
    const allDue = jobs.every((j) => j.runAt === null && Math.round(j.delayMs) === 0);
    const dueNow = isoMicros(nowUs);
    let data = "";
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i]!;
      const id = ids[i]!;
      const priority = String(j.priority);
      const maxAttempts = String(j.maxAttempts);
      if (allDue) {
        data += copyRow([id, j.queue, j.task, j.payload, priority, maxAttempts, j.meta]);
        continue;
      }
      const delayMs = Math.round(j.delayMs);
      const runAt =
        j.runAt !== null
          ? j.runAt.toISOString()
          : delayMs === 0
            ? dueNow
            : isoMicros(nowUs + delayMs * 1000);
      data += copyRow([id, j.queue, j.task, j.payload, priority, runAt, maxAttempts, j.meta]);
    }
    try {
      await ex.copyFrom!(allDue ? this.#sql.copyKeylessDue : this.#sql.copyKeyless, data);
    } catch (error) {
      throw translate(error, this.schema);
    }
    return jobs.map((job, i) => ({
      id: ids[i]!,
      queue: job.queue,
      task: job.task,
      deduped: false,
    }));
  }

  async #insert(
    jobs: NewJob[],
    conflict: KeyConflict,
    ex: Executor,
    notify: string,
  ): Promise<Inserted[]> {
    if (jobs.every((j) => j.key === null)) {
      const rows = await this.#run(
        this.#sql.insertKeyless,
        [`[${jobs.map(newJobJson).join(",")}]`, notify],
        ex,
      );
      const ids = JSON.parse(textColumn(rows, "ids") ?? "[]") as string[];
      return jobs.map((job, i) => ({
        id: ids[i]!,
        queue: job.queue,
        task: job.task,
        deduped: false,
      }));
    }
    const sql = conflict === "replace" ? this.#sql.insertReplace : this.#sql.insertSkip;
    const rows = await this.#run(sql, [`[${jobs.map(newJobJson).join(",")}]`, notify], ex);
    const input = JSON.parse(textColumn(rows, "input") ?? "[]") as { ord: number; id: string }[];
    const written = JSON.parse(textColumn(rows, "rows") ?? "[]") as {
      id: string;
      key: string | null;
      fresh: boolean;
    }[];
    const fresh = new Set(written.filter((r) => r.fresh).map((r) => r.id));
    const byKey = new Map(written.filter((r) => !r.fresh).map((r) => [r.key, r.id]));
    // Results follow the order of `jobs`, whatever order the aggregate came in.
    const out: Inserted[] = new Array(jobs.length);
    const missing: string[] = [];
    for (const { ord, id } of input) {
      const job = jobs[ord - 1]!;
      if (fresh.has(id)) {
        out[ord - 1] = { id, queue: job.queue, task: job.task, deduped: false };
      } else {
        const existing = job.key === null ? undefined : byKey.get(job.key);
        if (existing === undefined && job.key !== null) missing.push(job.key);
        out[ord - 1] = { id: existing ?? "", queue: job.queue, task: job.task, deduped: true };
      }
    }
    if (missing.length > 0) {
      // Skipped on conflict: the statement returns no row for those, so look the holders up.
      const found = await this.#run(this.#sql.liveByKey, [JSON.stringify(missing)], ex);
      const holders = new Map(
        (JSON.parse(textColumn(found, "rows") ?? "[]") as { id: string; key: string }[]).map(
          (r) => [r.key, r.id],
        ),
      );
      jobs.forEach(({ key }, i) => {
        if (out[i]!.id === "" && key !== null) out[i]!.id = holders.get(key) ?? "";
      });
    }
    return out;
  }

  async claim(
    worker: string,
    queues: readonly string[],
    limit: number,
    tasks?: readonly string[],
  ): Promise<ClaimedJob[]> {
    if (limit <= 0 || queues.length === 0 || tasks?.length === 0) return [];
    await this.#ensureSchema();
    const one = queues.length === 1;
    const rows = await this.#run(one ? this.#sql.claimOne : this.#sql.claimMany, [
      one ? queues[0] : JSON.stringify(queues),
      limit,
      worker,
      tasks === undefined ? null : JSON.stringify(tasks),
    ]);
    const jobs = rows.map(claimedFromRow);
    // UPDATE … RETURNING has no order; hand jobs out in claim order.
    return jobs.sort(
      (a, b) =>
        a.priority - b.priority || a.runAt.getTime() - b.runAt.getTime() || compareIds(a.id, b.id),
    );
  }

  async settle(settlements: readonly Settlement[]): Promise<Settled[]> {
    if (settlements.length === 0) return [];
    await this.#ensureSchema();
    const rows = settlements.every((s) => s.kind === "finish")
      ? await this.#run<{ id: string; state: JobState }>(this.#sql.settleFinished, [
          finishedJson(settlements),
        ])
      : await this.#settleAny(settlements);
    const applied = new Map(rows.map((r) => [String(r.id), r.state]));
    return settlements.map((s) => {
      const state = applied.get(s.id);
      return state === undefined
        ? { id: s.id, kind: s.kind, applied: false }
        : { id: s.id, kind: s.kind, applied: true, state };
    });
  }

  #settleAny(settlements: readonly Settlement[]): Promise<{ id: string; state: JobState }[]> {
    const records = settlements.map((s) => ({
      id: s.id,
      token: s.token,
      kind: s.kind,
      delay: "delayMs" in s ? Math.round(s.delayMs) : 0,
      error: "error" in s ? s.error : null,
      result: s.kind === "finish" && s.result !== null ? JSON.parse(s.result) : null,
    }));
    return this.#run<{ id: string; state: JobState }>(this.#sql.settle, [JSON.stringify(records)]);
  }

  /** Where control statements run: the driver's own connection, else the pool. */
  get #control(): Executor {
    return this.#driver.control ?? this.#driver;
  }

  async heartbeat(worker: WorkerInfo): Promise<Beat> {
    await this.#ensureSchema();
    const rows = await this.#run(
      this.#sql.heartbeat,
      [worker.id, JSON.stringify(worker.queues), worker.host, worker.pid],
      this.#control,
    );
    const held = JSON.parse(textColumn(rows, "held") ?? "[]") as {
      id: string;
      token: string;
      cancel: boolean;
    }[];
    return {
      cancelled: held.filter((h) => h.cancel).map((h) => h.id),
      held: held.map(({ id, token }) => ({ id, token })),
    };
  }

  async cancelRequested(worker: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    await this.#ensureSchema();
    const rows = await this.#run(
      this.#sql.cancelRequested,
      [worker, JSON.stringify(ids)],
      this.#control,
    );
    return JSON.parse(textColumn(rows, "ids") ?? "[]") as string[];
  }

  async unregister(workerId: string): Promise<void> {
    await this.#run(this.#sql.unregister, [workerId]);
  }

  async rescue(leaseMs: number): Promise<Rescued[]> {
    await this.#ensureSchema();
    const rows = await this.#run<{ job: string }>(this.#sql.rescue, [Math.round(leaseMs)]);
    return rows.map((r) => JSON.parse(String(r.job)) as Rescued);
  }

  async getJob(id: string, tx?: unknown): Promise<Job | null> {
    assertJobId(id);
    const ex = this.executor(tx);
    await this.#ensureSchema();
    const rows = await this.#run<{ job: string }>(this.#sql.getJob, [id], ex);
    const text = textColumn(rows, "job");
    return text === null ? null : parseJob(text);
  }

  async retry(id: string, tx?: unknown): Promise<Job> {
    assertJobId(id);
    const ex = this.executor(tx);
    await this.#ensureSchema();
    let rows: Record<string, unknown>[];
    try {
      rows = await this.#run(this.#sql.retry, [id], ex);
    } catch (error) {
      if (sqlState(error) !== "23505") throw error;
      throw new QError("INVALID_STATE", `job ${id} cannot be retried: a live job holds its key`, {
        cause: error,
        details: { id },
      });
    }
    const text = textColumn(rows, "job");
    if (text !== null) return parseJob(text);
    const job = await this.getJob(id, tx);
    if (job === null)
      throw new QError("JOB_NOT_FOUND", `no job with id ${id}`, { details: { id } });
    throw new QError(
      "INVALID_STATE",
      `job ${id} is ${job.state}; only failed jobs can be retried`,
      {
        details: { id, state: job.state },
      },
    );
  }

  async cancel(id: string, tx?: unknown): Promise<CancelOutcome> {
    assertJobId(id);
    const ex = this.executor(tx);
    await this.#ensureSchema();
    const was = textColumn(await this.#run(this.#sql.cancel, [id], ex), "was");
    if (was === null)
      throw new QError("JOB_NOT_FOUND", `no job with id ${id}`, { details: { id } });
    return was === "ready" ? "cancelled" : was === "claimed" ? "requested" : "terminal";
  }

  async listJobs(filter?: JobFilter, page?: PageOptions): Promise<JobPage> {
    const query = listQuery(filter, page);
    await this.#ensureSchema();
    const { sql, params } = listJobsStatement(this.schema, query);
    const rows = await this.#run<{ job: string }>(sql, params);
    const jobs = rows.slice(0, query.limit).map((r) => parseJob(String(r.job)));
    const last = jobs.at(-1);
    const next =
      rows.length > query.limit && last !== undefined ? encodeCursor(query.order, last.id) : null;
    return { jobs, next };
  }

  async countJobs(): Promise<StateCount[]> {
    await this.#ensureSchema();
    const counts = async (sql: string, exact: boolean): Promise<StateCount[]> =>
      (
        JSON.parse(textColumn(await this.#run(sql, []), "counts") ?? "[]") as Omit<
          StateCount,
          "exact"
        >[]
      ).map((c) => ({ ...c, count: Number(c.count), exact }));
    const live = await counts(this.#sql.countLive, true);
    const estimate = JSON.parse(
      textColumn(await this.#run(this.#sql.estimate, [this.schema]), "estimate") ?? "{}",
    ) as { total: number | null; states: Record<string, number>; pairs: PairEstimate[] };
    const terminal: StateCount[] = [];
    for (const state of ["finished", "failed"] as const) {
      // Never analysed: no estimate to give, so count.
      const rows = estimate.total === null ? null : estimate.total * (estimate.states[state] ?? 0);
      if (rows === null || rows <= this.#exactCountLimit) {
        terminal.push(
          ...(await counts(
            state === "failed" ? this.#sql.countFailed : this.#sql.countFinished,
            true,
          )),
        );
        continue;
      }
      for (const pair of estimate.pairs) {
        const count = Math.round(estimate.total! * pair.freq);
        if (pair.state === state && count > 0) {
          terminal.push({ queue: pair.queue, state, count, exact: false });
        }
      }
    }
    return [...live, ...terminal].sort(
      (a, b) =>
        (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0) ||
        JOB_STATES.indexOf(a.state) - JOB_STATES.indexOf(b.state),
    );
  }

  async queueStats(): Promise<QueueStats[]> {
    await this.#ensureSchema();
    const rows = JSON.parse(textColumn(await this.#run(this.#sql.stats, []), "stats") ?? "[]") as {
      queue: string;
      ready: number;
      scheduled: number;
      claimed: number;
      lagMs: number;
      ended: number;
      pausedAt: string | null;
    }[];
    return rows.map((r) => ({
      queue: r.queue,
      ready: Number(r.ready),
      scheduled: Number(r.scheduled),
      claimed: Number(r.claimed),
      lagMs: Math.round(Number(r.lagMs)),
      throughput: Number(r.ended) / 60,
      paused: r.pausedAt !== null,
      pausedAt: r.pausedAt === null ? null : new Date(r.pausedAt),
    }));
  }

  async pause(queue: string): Promise<void> {
    assertQueueName(queue);
    await this.#ensureSchema();
    await this.#run(this.#sql.pause, [queue]);
  }

  async resume(queue: string): Promise<void> {
    assertQueueName(queue);
    await this.#ensureSchema();
    await this.#run(this.#sql.resume, [queue]);
  }

  async paused(): Promise<string[]> {
    await this.#ensureSchema();
    return JSON.parse(textColumn(await this.#run(this.#sql.paused, []), "names") ?? "[]");
  }

  async saveProgress(id: string, token: string, progress: string): Promise<boolean> {
    await this.#ensureSchema();
    return (await this.#run(this.#sql.saveProgress, [id, token, progress])).length > 0;
  }

  async saveCheckpoint(id: string, token: string, checkpoint: string): Promise<boolean> {
    await this.#ensureSchema();
    return (await this.#run(this.#sql.saveCheckpoint, [id, token, checkpoint])).length > 0;
  }

  async now(): Promise<Date> {
    const rows = await this.#run<{ ms: number }>(this.#sql.now, []);
    return new Date(Number(rows[0]?.ms));
  }

  async listen(
    onNotice: (notice: Notice) => void,
    onReconnect: () => void,
    onError: (error: unknown) => void,
  ): Promise<() => Promise<void>> {
    const listen = this.#driver.listen;
    if (listen === undefined) return async () => {};
    // The first LISTEN checks that it hears q's own NOTIFY: through a
    // transaction-mode pooler it subscribes a server connection that is soon
    // someone else's, and hears nothing.
    const probe = this.#listenChecked
      ? undefined
      : `${process.pid}:${Math.random().toString(36).slice(2)}`;
    let heard = false;
    const unlisten = await listen.call(this.#driver, this.#sql.channel, {
      onMessage: (payload) => {
        let notice: Notice | { type: "probe"; id: unknown };
        try {
          notice = JSON.parse(payload) as typeof notice;
        } catch {
          return; // Not ours (someone else NOTIFYing on the channel): ignore.
        }
        if (notice?.type === "probe") {
          if (notice.id === probe) heard = true;
          return;
        }
        onNotice(notice);
      },
      onReconnect,
      onError,
    });
    if (probe === undefined) return unlisten;
    this.#listenChecked = true;
    this.#driver
      .query(this.#sql.notify, [JSON.stringify({ type: "probe", id: probe })])
      .catch(() => {});
    const timer = setTimeout(() => {
      if (heard) return;
      onError(
        new QError(
          "LISTEN_DEAF",
          `LISTEN on channel ${this.#sql.channel} did not hear q's own NOTIFY within ${this.#listenCheckMs} ms: notifications do not reach this process, as behind a transaction-mode pooler (PgBouncer, Supavisor, RDS Proxy). Point the driver's listen option at a direct connection to PostgreSQL`,
          { details: { channel: this.#sql.channel, waitedMs: this.#listenCheckMs } },
        ),
      );
    }, this.#listenCheckMs);
    timer.unref();
    return async () => {
      clearTimeout(timer);
      await unlisten();
    };
  }

  /** Whether the driver can push notifications (else workers poll). */
  get canListen(): boolean {
    return this.#driver.listen !== undefined;
  }

  async close(): Promise<void> {
    await this.#driver.close?.();
  }
}
