import { describeDriver } from "@q/core/conformance";
import { inject } from "vitest";
import { makeDrizzlePgHarness, makeDrizzlePostgresJsHarness } from "./harness.js";

const databaseUrl = () => inject("databaseUrl");

describeDriver("drizzle-pg", makeDrizzlePgHarness, { databaseUrl });
describeDriver("drizzle-postgresjs", makeDrizzlePostgresJsHarness, { databaseUrl });
