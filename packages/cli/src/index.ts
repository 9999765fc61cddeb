/**
 * The `q` command line. Installed with `@q/cli`, it runs as `npx q …`;
 * {@link run} runs it from code (a deploy script, a test).
 *
 * @module
 */
export { EXIT_FAILURE, EXIT_USAGE } from "./errors.js";
export type { Io } from "./output.js";
export { processIo, run } from "./run.js";
