import { Html, html, type Part } from "../html.js";
import { STYLE } from "../style.js";

// The stylesheet is ours, not data: it goes in unescaped (its hash is in the CSP).
const STYLESHEET = new Html(STYLE);

/** What every page needs to know of the request it answers. */
export interface View {
  /** The mount path, `""` at the root. */
  base: string;
  title: string;
  readOnly: boolean;
  /** The CSRF token the forms of this page carry. */
  token: string;
  /** The page's own path and query, to come back to after an action. */
  here: string;
  /** A notice to show once, after an action redirected here. */
  flash: Flash | null;
}

/** A notice after an action: what happened, or why nothing did. */
export interface Flash {
  text: string;
  bad: boolean;
}

/** A path under the dashboard with a query of the non-empty values. */
export function href(
  view: Pick<View, "base">,
  path: string,
  query: Record<string, string | readonly string[] | undefined> = {},
): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    for (const one of typeof value === "string" ? [value] : (value ?? [])) {
      if (one !== "") params.append(name, one);
    }
  }
  const search = params.toString();
  return `${view.base}${path}${search === "" ? "" : `?${search}`}`;
}

/** A button that POSTs an action with the CSRF token, then comes back here. */
export function actionButton(
  view: View,
  path: string,
  label: string,
  style: "primary" | "danger" | "" = "",
): Html {
  if (view.readOnly) return html``;
  return html`<form class="inline" method="post" action="${view.base}${path}"><input type="hidden" name="_csrf" value="${view.token}"><input type="hidden" name="back" value="${view.here}"><button type="submit" class="${style}">${label}</button></form>`;
}

/** A state as a coloured badge. */
export function badge(state: string, label: string = state): Html {
  return html`<span class="badge s-${state}">${label}</span>`;
}

/** The whole document around a page's content. */
export function layout(
  view: View,
  page: { title: string; nav: "overview" | "jobs" | null; body: Part },
): Html {
  const current = (name: string) => (page.nav === name ? html` aria-current="page"` : "");
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${page.title} · ${view.title}</title>
<link rel="icon" href="data:,">
<style>${STYLESHEET}</style>
</head>
<body>
<header>
<a class="brand" href="${href(view, "/")}">${view.title}</a>
<nav><a href="${href(view, "/")}"${current("overview")}>Queues</a><a href="${href(view, "/jobs")}"${current("jobs")}>Jobs</a></nav>
${view.readOnly ? html`<span class="mode">read-only</span>` : ""}
</header>
<main>
${view.flash ? html`<div class="notice${view.flash.bad ? " bad" : ""}" role="status">${view.flash.text}</div>` : ""}
${page.body}
</main>
</body>
</html>
`;
}
