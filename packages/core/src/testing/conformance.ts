/**
 * The conformance suites, for vitest: the state machine on any storage, and
 * everything a driver must get right (which runs the state machine and the
 * plugin interface on PostgreSQL through it). Every driver of q runs
 * `describeDriver`; a driver of your own can too.
 *
 * @module
 */
export { type DescribeDriverOptions, describeDriver } from "./driver-suite.js";
export type { DriverHarness, MakeHarness } from "./harness.js";
export { describeStorage, type MakeStorage, type StorageFixture } from "./storage-suite.js";
