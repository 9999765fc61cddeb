/**
 * Rows in the text format of `COPY … FROM STDIN`: fields separated by a tab,
 * each row ending in a newline, `\N` for SQL NULL, and in every field the
 * backslash, tab, newline and carriage return written as backslash escapes
 * (every other character, NUL aside, stands for itself).
 *
 * @module
 */

/** What the text format reads as SQL NULL. */
export const COPY_NULL = "\\N";

/** The characters a field must escape. */
const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
};

/**
 * One field as COPY's text format reads it back as `value`. The text must
 * hold no NUL, which no text or jsonb column can store.
 */
export function copyField(value: string): string {
  // Most fields (names, numbers, times) have nothing to escape.
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : value;
}

/** One row: its fields escaped (`null` as SQL NULL), joined by tabs, ended by a newline. */
export function copyRow(fields: readonly (string | null)[]): string {
  let row = "";
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    row += `${i === 0 ? "" : "\t"}${field === null ? COPY_NULL : copyField(field)}`;
  }
  return `${row}\n`;
}
