import { describeCron } from "@q/cron/conformance";
import { inject } from "vitest";
import { makePgHarness } from "./harness.js";

describeCron("pg", makePgHarness, { databaseUrl: () => inject("databaseUrl") });
