import type { Job, JobError } from "@q/core";
import { between, firstLine, json, time } from "../format.js";
import { type Html, html, type Part } from "../html.js";
import { shownState } from "./jobs.js";
import { actionButton, badge, href, layout, type View } from "./view.js";

/**
 * A fraction of the work done, when the progress says one: a number from 0 to
 * 100 is a percentage, `{ done, total }` a count of steps.
 */
export function fractionOf(value: unknown): { percent: number; label: string } | null {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 100) {
    return { percent: value, label: `${Math.round(value * 10) / 10}%` };
  }
  if (typeof value === "object" && value !== null) {
    const { done, total } = value as { done?: unknown; total?: unknown };
    if (
      typeof done === "number" &&
      typeof total === "number" &&
      Number.isFinite(done) &&
      Number.isFinite(total) &&
      total > 0 &&
      done >= 0
    ) {
      const percent = Math.min(100, (done / total) * 100);
      return {
        percent,
        label: `${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")}`,
      };
    }
  }
  return null;
}

function progress(job: Job): Html {
  const value = job.progress;
  if (value === null || value === undefined) return html`<span class="muted">none reported</span>`;
  const at = job.progressAt ? html` <span class="muted">at ${time(job.progressAt)}</span>` : "";
  const fraction = fractionOf(value);
  const shown =
    fraction === null
      ? html`<code>${firstLine(JSON.stringify(value) ?? String(value), 500)}</code>`
      : html`<progress max="100" value="${fraction.percent.toFixed(1)}">${fraction.label}</progress> ${fraction.label}`;
  return html`${shown}${at}`;
}

function row(label: string, value: Part): Html {
  return html`<dt>${label}</dt><dd>${value}</dd>`;
}

function errorItem(error: JobError): Html {
  return html`<div class="error">
<div class="head"><strong>${error.attempt === 0 ? "before any attempt" : `attempt ${error.attempt}`}</strong><span>${time(error.at)}</span>${error.code ? html`<code>${error.code}</code>` : ""}</div>
<div class="message">${error.message}</div>
${error.stack ? html`<details><summary>stack</summary><pre>${error.stack}</pre></details>` : ""}
</div>`;
}

function section(title: string, body: Html): Html {
  return html`<section><h2>${title}</h2><div class="panel">${body}</div></section>`;
}

/** One job: what it is, its timings, payload, result, progress, checkpoint and every error. */
export function jobPage(view: View, job: Job): Html {
  const state = shownState(job);
  const actions: Html[] = [];
  if (job.state === "failed")
    actions.push(actionButton(view, `/jobs/${job.id}/retry`, "Retry", "primary"));
  if (job.state === "ready" || job.state === "claimed") {
    actions.push(
      actionButton(
        view,
        `/jobs/${job.id}/cancel`,
        job.cancelRequestedAt ? "Cancel requested" : "Cancel",
        "danger",
      ),
    );
  }
  const facts = html`<dl>
${row("Task", job.task)}
${row("Queue", html`<a href="${href(view, "/jobs", { queue: job.queue })}">${job.queue}</a>`)}
${row("State", badge(state, state === "claimed" ? "running" : state))}
${row("Attempt", `${job.attempt} of ${job.maxAttempts}`)}
${row("Priority", job.priority)}
${row("Key", job.key ?? html`<span class="muted">none</span>`)}
${job.claimedBy ? row("Worker", job.claimedBy) : ""}
${job.cancelRequestedAt ? row("Cancel requested", time(job.cancelRequestedAt)) : ""}
${row("Progress", progress(job))}
</dl>`;
  // q keeps the claim time only while a job runs: a settled job has its due
  // time (the last attempt's, after retries) and its end.
  const dash = html`<span class="muted">—</span>`;
  const timings = html`<dl>
${row("Created", time(job.createdAt))}
${row(job.finishedAt ? "Last due" : "Due", time(job.runAt))}
${job.claimedAt ? row("Claimed", time(job.claimedAt)) : ""}
${job.claimedAt ? row("Waited", between(job.runAt, job.claimedAt) ?? dash) : ""}
${job.claimedAt && !job.finishedAt ? row("Running for", between(job.claimedAt, new Date()) ?? dash) : ""}
${row("Finished", time(job.finishedAt))}
${job.finishedAt ? row("Due to finished", between(job.runAt, job.finishedAt) ?? dash) : ""}
${row("Total", between(job.createdAt, job.finishedAt) ?? dash)}
</dl>`;
  const errors =
    job.errors.length === 0
      ? html`<div class="empty">No errors.</div>`
      : html`${[...job.errors].reverse().map(errorItem)}`;
  const meta = Object.keys(job.meta ?? {}).length > 0 ? section("Meta", json(job.meta)) : "";
  return layout(view, {
    title: `Job ${job.id}`,
    nav: "jobs",
    body: html`<div class="title"><h1>Job ${job.id}</h1>${badge(state, state === "claimed" ? "running" : state)}<span class="muted">${job.task}</span><div class="actions">${actions}</div></div>
<div class="grid">${section("Job", facts)}${section("Timings", timings)}</div>
${section("Payload", json(job.payload))}
${section("Result", job.result === null || job.result === undefined ? html`<div class="empty">No result.</div>` : json(job.result))}
${job.checkpoint !== undefined && job.checkpoint !== null ? section("Checkpoint", json(job.checkpoint)) : ""}
${meta}
${section(`Errors (${job.errors.length})`, errors)}`,
  });
}

/** The page for a job id that no job has. */
export function missingJobPage(view: View, id: string): Html {
  return layout(view, {
    title: "No such job",
    nav: "jobs",
    body: html`<h1>No such job</h1><div class="panel"><div class="empty">No job has the id ${id}. It may have been deleted by retention.</div></div>`,
  });
}
