import { describeCleanup } from "@q/cleanup/conformance";
import { inject } from "vitest";
import { makePgHarness } from "./harness.js";

// One flavour here: it runs the tight-loop test with more jobs.
describeCleanup("pg", makePgHarness, { databaseUrl: () => inject("databaseUrl"), jobs: 4000 });
