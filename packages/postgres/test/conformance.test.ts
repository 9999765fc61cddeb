import { describeDriver } from "@q/core/conformance";
import { inject } from "vitest";
import {
  makePostgresCamelHarness,
  makePostgresCopyHarness,
  makePostgresHarness,
  makePostgresPascalHarness,
} from "./harness.js";

const databaseUrl = () => inject("databaseUrl");

describeDriver("postgres", makePostgresHarness, { databaseUrl });
describeDriver("postgres-camel", makePostgresCamelHarness, { databaseUrl });
describeDriver("postgres-pascal", makePostgresPascalHarness, { databaseUrl });
describeDriver("postgres-copy", makePostgresCopyHarness, { databaseUrl });
