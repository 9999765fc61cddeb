import { describeDriver } from "@q/core/conformance";
import { inject } from "vitest";
import { makePgHarness } from "./harness.js";

describeDriver("pg", makePgHarness, { databaseUrl: () => inject("databaseUrl") });
