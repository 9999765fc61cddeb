// Writes sql/q.sql, the migrations for the default schema, from the built source.
import { writeFileSync } from "node:fs";
import { migrationScript } from "../dist/postgres/migrations.js";

writeFileSync(new URL("../sql/q.sql", import.meta.url), migrationScript("q"));
