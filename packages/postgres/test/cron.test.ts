import { describeCron } from "@q/cron/conformance";
import { inject } from "vitest";
import {
  makePostgresCamelHarness,
  makePostgresHarness,
  makePostgresPascalHarness,
} from "./harness.js";

const databaseUrl = () => inject("databaseUrl");

describeCron("postgres", makePostgresHarness, { databaseUrl });
// The heavy parallel test runs once per package; the transforms only rename columns.
describeCron("postgres-camel", makePostgresCamelHarness, { databaseUrl, parallel: false });
describeCron("postgres-pascal", makePostgresPascalHarness, { databaseUrl, parallel: false });
