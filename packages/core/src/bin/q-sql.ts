#!/usr/bin/env node
import { parseArgs } from "node:util";
import { QError } from "../errors.js";
import { migrationScript } from "../postgres/migrations.js";

const usage = `Usage: q-sql [--schema NAME]

Prints the SQL of q's migrations for a schema (default "q"), for teams that
apply migrations with their own tool (drizzle-kit, kysely-ctl, Flyway, …).`;

try {
  const { values } = parseArgs({
    options: { schema: { type: "string", default: "q" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(usage);
  } else {
    process.stdout.write(migrationScript(values.schema));
  }
} catch (error) {
  console.error(error instanceof QError ? `q-sql: ${error.message}` : String(error));
  console.error(usage);
  process.exitCode = 2;
}
