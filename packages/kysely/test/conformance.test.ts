import { describeDriver } from "@q/core/conformance";
import { inject } from "vitest";
import {
  makeKyselyPgHarness,
  makeKyselyPgPollingHarness,
  makeKyselyPostgresJsHarness,
} from "./harness.js";

const databaseUrl = () => inject("databaseUrl");

describeDriver("kysely-pg", makeKyselyPgHarness, { databaseUrl });
describeDriver("kysely-pg-polling", makeKyselyPgPollingHarness, { databaseUrl });
describeDriver("kysely-postgresjs", makeKyselyPostgresJsHarness, { databaseUrl });
