/**
 * Test helpers that need no test runner: an in-memory storage for unit tests
 * of your handlers, `waitFor`, and the harness types of the conformance
 * suites. The suites themselves, which run under vitest, are
 * `@q/core/conformance`.
 *
 * @module
 */
export { MemoryStorage } from "../memory/storage.js";
export type { DriverHarness, MakeHarness } from "./harness.js";
export { numberPayload } from "./number-payload.js";
export { waitFor } from "./wait.js";
