import { describeCleanup } from "@q/cleanup/conformance";
import { inject } from "vitest";
import {
  makeKyselyPgHarness,
  makeKyselyPgPollingHarness,
  makeKyselyPostgresJsHarness,
} from "./harness.js";

const databaseUrl = () => inject("databaseUrl");

describeCleanup("kysely-pg", makeKyselyPgHarness, { databaseUrl, jobs: 4000 });
describeCleanup("kysely-pg-polling", makeKyselyPgPollingHarness, { databaseUrl });
describeCleanup("kysely-postgresjs", makeKyselyPostgresJsHarness, { databaseUrl });
