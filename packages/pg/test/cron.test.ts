import { describeCron } from "@q/cron/testing";
import { inject } from "vitest";
import { makePgHarness } from "./harness.js";

describeCron("pg", makePgHarness, { databaseUrl: () => inject("databaseUrl") });
