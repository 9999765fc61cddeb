import { describeCron } from "@q/cron/conformance";
import { inject } from "vitest";
import {
  makeKyselyPgHarness,
  makeKyselyPgPollingHarness,
  makeKyselyPostgresJsHarness,
} from "./harness.js";

const databaseUrl = () => inject("databaseUrl");

describeCron("kysely-pg", makeKyselyPgHarness, { databaseUrl });
// The heavy parallel test runs once per package.
describeCron("kysely-pg-polling", makeKyselyPgPollingHarness, { databaseUrl, parallel: false });
describeCron("kysely-postgresjs", makeKyselyPostgresJsHarness, { databaseUrl, parallel: false });
