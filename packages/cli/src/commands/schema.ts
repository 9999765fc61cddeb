import { coreMigrations, migrationScript } from "@q/core";
import type { Command } from "commander";
import { type Cli, globals } from "../cli.js";
import { withConnection } from "../connection.js";
import { type PluginName, pluginList, pluginMigrations } from "../plugins.js";
import { migrationVersions } from "../sql.js";

const WITH =
  "plugins whose tables to include, comma-separated (cron, cleanup) or none; default: those installed";

/** `q migrate` and `q sql`. */
export function schemaCommands(program: Command, cli: Cli): void {
  program
    .command("migrate")
    .description("create or upgrade q's tables (and the installed plugins' tables) in the schema")
    .option("--with <plugins>", WITH, pluginList)
    .option("--json", "print the applied versions as JSON")
    .action(async (options: { with?: PluginName[]; json?: boolean }, command: Command) => {
      const { migrations, plugins } = await pluginMigrations(options.with, "q migrate");
      const g = globals(command);
      const versions = await withConnection(
        g,
        cli.io,
        async ({ queue, driver, schema }) => {
          await queue.migrate();
          const rows = await driver.query<{ owner: string; version: number }>(
            migrationVersions(schema),
          );
          return rows.map((r) => ({ owner: String(r.owner), version: Number(r.version) }));
        },
        { migrations },
      );
      if (options.json) {
        cli.out.json({ schema: g.schema, plugins, versions });
        return;
      }
      const c = cli.out.colors;
      const list = versions.map((v) => `${v.owner} ${v.version}`).join(", ");
      cli.out.line(`${c.green("migrated")} schema "${g.schema}": ${list}`);
    });

  program
    .command("sql")
    .description("print the SQL of the migrations, for a migration tool of your own")
    .option("--with <plugins>", WITH, pluginList)
    .action(async (options: { with?: PluginName[] }, command: Command) => {
      const { migrations } = await pluginMigrations(options.with, "q sql");
      const { schema } = globals(command);
      cli.io.stdout.write(migrationScript(schema, [...coreMigrations, ...migrations]));
    });
}
