/**
 * HTML built by a tagged template that escapes every interpolated value. Only
 * fragments made by {@link html} itself pass through unescaped, so a payload,
 * a task name or an error message can never become markup.
 *
 * @module
 */

/** A fragment of markup that is safe to insert as is. */
export class Html {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

/** What a template accepts: text (escaped), numbers, fragments, lists of them, nothing. */
export type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for element content and for quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function render(part: Part): string {
  if (part instanceof Html) return part.toString();
  if (Array.isArray(part)) return part.map(render).join("");
  // `false`, `null` and `undefined` render nothing, so `cond && html\`…\`` works.
  if (part === null || part === undefined || part === false) return "";
  return escapeHtml(String(part));
}

/** `html\`<p>${text}</p>\``: every value is escaped unless it is an {@link Html}. */
export function html(strings: TemplateStringsArray, ...values: readonly Part[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}
