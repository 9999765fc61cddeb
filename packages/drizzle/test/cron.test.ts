import { describeCron } from "@q/cron/conformance";
import { inject } from "vitest";
import { makeDrizzlePgHarness, makeDrizzlePostgresJsHarness } from "./harness.js";

const databaseUrl = () => inject("databaseUrl");

describeCron("drizzle-pg", makeDrizzlePgHarness, { databaseUrl });
// The heavy parallel test runs once per package.
describeCron("drizzle-postgresjs", makeDrizzlePostgresJsHarness, { databaseUrl, parallel: false });
