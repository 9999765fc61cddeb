import type { QueueStats, StateCount } from "@q/core";
import { count, duration, rate } from "../format.js";
import { type Html, html } from "../html.js";
import { actionButton, badge, href, layout, type View } from "./view.js";

/** One queue's row: its stats and its terminal counts. */
interface Row {
  queue: string;
  stats: QueueStats;
  finished: StateCount | undefined;
  failed: StateCount | undefined;
}

const NO_STATS = {
  ready: 0,
  scheduled: 0,
  claimed: 0,
  lagMs: 0,
  throughput: 0,
  paused: false,
  pausedAt: null,
};

function rows(stats: readonly QueueStats[], counts: readonly StateCount[]): Row[] {
  const names = new Set([...stats.map((s) => s.queue), ...counts.map((c) => c.queue)]);
  return [...names].sort().map((queue) => ({
    queue,
    stats: stats.find((s) => s.queue === queue) ?? { queue, ...NO_STATS },
    finished: counts.find((c) => c.queue === queue && c.state === "finished"),
    failed: counts.find((c) => c.queue === queue && c.state === "failed"),
  }));
}

/** A count that links to the jobs it counts; `~` marks the planner's estimate. */
function countLink(view: View, queue: string, state: string, n: number, exact = true): Html {
  const text = `${exact ? "" : "~"}${count(n)}`;
  if (n === 0) return html`<span class="muted">0</span>`;
  return html`<a href="${href(view, "/jobs", { queue, state })}"${exact ? "" : html` title="estimated"`}>${text}</a>`;
}

/** The queues overview: counts by state, lag, throughput, paused, pause and resume. */
export function overviewPage(
  view: View,
  stats: readonly QueueStats[],
  counts: readonly StateCount[],
): Html {
  const list = rows(stats, counts);
  const sum = (pick: (r: Row) => number) => list.reduce((n, r) => n + pick(r), 0);
  const failed = sum((r) => r.failed?.count ?? 0);
  const worstLag = Math.max(0, ...list.map((r) => r.stats.lagMs));
  const cards = html`<div class="cards">
<div class="card"><div class="label">Ready</div><div class="value">${count(sum((r) => r.stats.ready))}</div></div>
<div class="card"><div class="label">Scheduled</div><div class="value">${count(sum((r) => r.stats.scheduled))}</div></div>
<div class="card"><div class="label">Running</div><div class="value">${count(sum((r) => r.stats.claimed))}</div></div>
<div class="card"><div class="label">Failed</div><div class="value">${count(failed)}</div></div>
<div class="card"><div class="label">Throughput</div><div class="value">${rate(sum((r) => r.stats.throughput))}</div></div>
<div class="card"><div class="label">Longest lag</div><div class="value">${duration(worstLag)}</div></div>
</div>`;
  const table =
    list.length === 0
      ? html`<div class="panel"><div class="empty">No queue has jobs yet.</div></div>`
      : html`<div class="panel"><table>
<thead><tr><th>Queue</th><th class="num">Ready</th><th class="num">Scheduled</th><th class="num">Running</th><th class="num">Finished</th><th class="num">Failed</th><th class="num">Lag</th><th class="num">Throughput</th><th>Status</th>${view.readOnly ? "" : html`<th></th>`}</tr></thead>
<tbody>
${list.map(
  (r) => html`<tr data-queue="${r.queue}">
<td><a href="${href(view, "/jobs", { queue: r.queue })}">${r.queue}</a></td>
<td class="num">${countLink(view, r.queue, "ready", r.stats.ready)}</td>
<td class="num">${r.stats.scheduled === 0 ? html`<span class="muted">0</span>` : count(r.stats.scheduled)}</td>
<td class="num">${countLink(view, r.queue, "claimed", r.stats.claimed)}</td>
<td class="num">${countLink(view, r.queue, "finished", r.finished?.count ?? 0, r.finished?.exact ?? true)}</td>
<td class="num">${countLink(view, r.queue, "failed", r.failed?.count ?? 0, r.failed?.exact ?? true)}</td>
<td class="num">${duration(r.stats.lagMs)}</td>
<td class="num">${rate(r.stats.throughput)}</td>
<td>${r.stats.paused ? html`${badge("paused")}${r.stats.pausedAt ? html` <span class="muted" title="since ${r.stats.pausedAt.toISOString()}">for ${duration(Date.now() - r.stats.pausedAt.getTime())}</span>` : ""}` : badge("active")}</td>
${
  view.readOnly
    ? ""
    : html`<td>${
        r.stats.paused
          ? actionButton(view, `/queues/${encodeURIComponent(r.queue)}/resume`, "Resume", "primary")
          : actionButton(view, `/queues/${encodeURIComponent(r.queue)}/pause`, "Pause")
      }</td>`
}
</tr>`,
)}
</tbody></table></div>`;
  return layout(view, {
    title: "Queues",
    nav: "overview",
    body: html`<h1>Queues</h1>${cards}${table}<p class="muted">Lag: how long the oldest due job has waited. Throughput: jobs finished or failed per second over the last minute. Finished and failed counts marked ~ are estimates.</p>`,
  });
}
