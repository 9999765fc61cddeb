/**
 * Test helpers: an in-memory storage for unit tests of your handlers, and the
 * conformance suites that every driver (yours too) runs.
 *
 * @module
 */
export { MemoryStorage } from "../memory/storage.js";
export { type DescribeDriverOptions, describeDriver } from "./driver-suite.js";
export type { DriverHarness, MakeHarness } from "./harness.js";
export {
  describeStorage,
  type MakeStorage,
  numberPayload,
  type StorageFixture,
} from "./storage-suite.js";
export { waitFor } from "./wait.js";
