import type { Job, JobPage } from "@q/core";
import { FORM_FIELDS, type Listing, STATES } from "../filters.js";
import { firstLine, time } from "../format.js";
import { type Html, html } from "../html.js";
import { badge, href, layout, type View } from "./view.js";

/** Ready jobs whose time has not come show as scheduled. */
export function shownState(job: Job, now = Date.now()): string {
  return job.state === "ready" && job.runAt.getTime() > now ? "scheduled" : job.state;
}

function stateBadge(job: Job): Html {
  const state = shownState(job);
  return badge(state, state === "claimed" ? "running" : state);
}

function input(label: string, name: string, value: string, extra: Html = html``): Html {
  return html`<label>${label}<input name="${name}" value="${value}"${extra}></label>`;
}

function filterForm(
  view: View,
  listing: Listing,
  queues: readonly string[],
  tasks: readonly string[],
): Html {
  const f = listing.form;
  const dated = f.createdFrom || f.createdTo || f.finishedFrom || f.finishedTo;
  const option = (value: string, label: string, current: string) =>
    html`<option value="${value}"${value === current ? html` selected` : ""}>${label}</option>`;
  return html`<form class="filters" method="get" action="${href(view, "/jobs")}" role="search">
${input("Queue", "queue", f.queue, html` list="q-queues" autocomplete="off"`)}
${input("Task", "task", f.task, html` list="q-tasks" autocomplete="off"`)}
<label>State<select name="state">${option("", "any", f.state)}${STATES.map((s) => option(s, s === "claimed" ? "running (claimed)" : s, f.state))}</select></label>
${input("Key", "key", f.key)}
<label>Order<select name="order">${option("newest", "newest first", f.order || "newest")}${option("oldest", "oldest first", f.order)}</select></label>
<button type="submit" class="primary">Filter</button>
<a class="button" href="${href(view, "/jobs")}">Clear</a>
<details class="dates"${dated ? html` open` : ""}><summary>Dates</summary><div class="row">
${input("Created from (UTC)", "createdFrom", f.createdFrom, html` type="datetime-local"`)}
${input("Created before (UTC)", "createdTo", f.createdTo, html` type="datetime-local"`)}
${input("Finished from (UTC)", "finishedFrom", f.finishedFrom, html` type="datetime-local"`)}
${input("Finished before (UTC)", "finishedTo", f.finishedTo, html` type="datetime-local"`)}
</div></details>
<datalist id="q-queues">${queues.map((q) => html`<option value="${q}">`)}</datalist>
<datalist id="q-tasks">${tasks.map((t) => html`<option value="${t}">`)}</datalist>
</form>`;
}

const short = { zone: false };

function lastError(job: Job): Html {
  const error = job.errors.at(-1);
  if (error === undefined) return html``;
  return html`${firstLine(error.message)}${error.code ? html`<div class="code">${error.code}</div>` : ""}`;
}

/** The job list: the filter form, one page of jobs, and the link to the next page. */
export function jobsPage(
  view: View,
  listing: Listing,
  page: JobPage | null,
  options: { queues: readonly string[]; tasks: readonly string[]; error?: string },
): Html {
  const kept = Object.fromEntries(FORM_FIELDS.map((f) => [f, listing.form[f]]));
  const body =
    page === null
      ? html``
      : page.jobs.length === 0
        ? html`<div class="panel"><div class="empty">No job matches.</div></div>`
        : html`<div class="panel"><table>
<thead><tr><th class="num">ID</th><th>Task</th><th>Queue</th><th>State</th><th class="num">Attempt</th><th>Created (UTC)</th><th title="When a waiting job is due; when an ended job ended">Due or ended (UTC)</th><th>Last error</th></tr></thead>
<tbody>
${page.jobs.map(
  (job) => html`<tr data-job="${job.id}">
<td class="num"><a href="${href(view, `/jobs/${job.id}`)}">${job.id}</a></td>
<td>${job.task}</td>
<td>${job.queue}</td>
<td>${stateBadge(job)}</td>
<td class="num">${job.attempt}/${job.maxAttempts}</td>
<td>${time(job.createdAt, short)}</td>
<td>${time(job.finishedAt ?? job.runAt, short)}</td>
<td class="wrap">${lastError(job)}</td>
</tr>`,
)}
</tbody></table></div>`;
  const pager =
    page === null
      ? html``
      : html`<div class="pager"><span class="muted">${page.jobs.length} ${page.jobs.length === 1 ? "job" : "jobs"} on this page</span><span>${
          listing.page.after ? html`<a href="${href(view, "/jobs", kept)}">First page</a> · ` : ""
        }${page.next === null ? html`<span class="muted">last page</span>` : html`<a rel="next" href="${href(view, "/jobs", { ...kept, after: page.next })}">Next page →</a>`}</span></div>`;
  return layout(view, {
    title: "Jobs",
    nav: "jobs",
    body: html`<h1>Jobs</h1>${filterForm(view, listing, options.queues, options.tasks)}${
      options.error ? html`<div class="notice bad" role="alert">${options.error}</div>` : ""
    }${body}${pager}`,
  });
}
