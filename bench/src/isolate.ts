import { fork } from "node:child_process";
import type { Variant } from "./adapter.js";
import type { Result } from "./report.js";
import type { ScenarioContext } from "./scenarios/context.js";

/** What a worker process tells the bench process, in order. */
export type ChildMessage =
  | { kind: "emit"; result: Result }
  | { kind: "detail"; line: string }
  | { kind: "note"; message: string }
  /** Sent once the scenario is over: the process's peak RSS over its whole life. */
  | { kind: "end"; maxRssBytes: number };

let inChild = false;

/** Called by the worker process's entry: this process runs one variant only. */
export function markIsolated(): void {
  inChild = true;
}

/** Whether this process runs one variant of one scenario for the bench process. */
export function isolated(): boolean {
  return inChild;
}

/** How long a worker process may take to exit once it has reported its end. */
const EXIT_GRACE_MS = 30_000;

/**
 * Runs `scenario` for `variant` alone in a new Node process (with `--expose-gc`,
 * so the drain starts after a full collection), relaying its results, details
 * and notes to `ctx`. Each library then has a process of its own: its peak RSS
 * is its own, not what earlier libraries left in the heap.
 */
export function runInChild(
  ctx: ScenarioContext,
  scenario: string,
  variant: Variant,
): Promise<void> {
  const entry = new URL("./worker-process.js", import.meta.url);
  const child = fork(entry, [scenario, variant.library, variant.setting], {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const mine: Result[] = [];
  return new Promise<void>((resolve) => {
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    child.on("message", (message: ChildMessage) => {
      switch (message.kind) {
        case "emit":
          mine.push(message.result);
          ctx.emit(message.result);
          break;
        case "detail":
          ctx.detail(message.line);
          break;
        case "note":
          ctx.note(message.message);
          break;
        case "end":
          ended = true;
          for (const r of mine) r.extra = { ...r.extra, processMaxRssBytes: message.maxRssBytes };
          ctx.detail(
            `worker process: peak RSS over its whole life ${(message.maxRssBytes / 2 ** 20).toFixed(0)} MiB (set-up and enqueue included)`,
          );
          timer = setTimeout(() => {
            ctx.note(
              `${scenario} ${variant.library}(${variant.setting}): worker process still running ${EXIT_GRACE_MS / 1000} s after its end, killed`,
            );
            child.kill("SIGKILL");
          }, EXIT_GRACE_MS);
          break;
      }
    });
    child.on("error", (error) => {
      ctx.note(
        `${scenario} ${variant.library}(${variant.setting}): worker process: ${error.message}`,
      );
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (!ended) {
        ctx.note(
          `${scenario} ${variant.library}(${variant.setting}): worker process ended early (${signal ?? `exit code ${code}`})`,
        );
      }
      resolve();
    });
  });
}
