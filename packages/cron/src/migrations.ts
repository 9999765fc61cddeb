import type { Migration } from "@q/core";
import { sinceStatements, tableStatements } from "./sql.js";

/** The tables `@q/cron` owns, applied by `queue.migrate()` after core's. Never edit a shipped one. */
export const cronMigrations: readonly Migration[] = [
  { owner: "cron", version: 1, name: "ticks", statements: (schema) => tableStatements(schema) },
  { owner: "cron", version: 2, name: "since", statements: (schema) => sinceStatements(schema) },
];
