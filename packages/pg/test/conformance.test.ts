import { describeDriver } from "@q/core/testing";
import { inject } from "vitest";
import { makePgHarness } from "./harness.js";

describeDriver("pg", makePgHarness, { databaseUrl: () => inject("databaseUrl") });
