import { describeCleanup } from "@q/cleanup/conformance";
import { inject } from "vitest";
import {
  makePostgresCamelHarness,
  makePostgresHarness,
  makePostgresPascalHarness,
} from "./harness.js";

const databaseUrl = () => inject("databaseUrl");

describeCleanup("postgres", makePostgresHarness, { databaseUrl, jobs: 4000 });
describeCleanup("postgres-camel", makePostgresCamelHarness, { databaseUrl });
describeCleanup("postgres-pascal", makePostgresPascalHarness, { databaseUrl });
