/**
 * The suite of `@q/cleanup`, run by every driver package on real PostgreSQL
 * (a third-party driver can run it too).
 *
 * @module
 */
export { type DescribeCleanupOptions, describeCleanup } from "./suite.js";
