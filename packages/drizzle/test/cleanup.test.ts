import { describeCleanup } from "@q/cleanup/conformance";
import { inject } from "vitest";
import { makeDrizzlePgHarness, makeDrizzlePostgresJsHarness } from "./harness.js";

const databaseUrl = () => inject("databaseUrl");

describeCleanup("drizzle-pg", makeDrizzlePgHarness, { databaseUrl, jobs: 4000 });
describeCleanup("drizzle-postgresjs", makeDrizzlePostgresJsHarness, { databaseUrl });
