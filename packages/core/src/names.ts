import { QError } from "./errors.js";

/** Schema names become part of SQL text, so they are held to plain lowercase identifiers. */
const SCHEMA = /^[a-z_][a-z0-9_]{0,47}$/;
/** Queue and task names only ever travel as parameters; the limits keep them readable. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

export function assertSchemaName(name: unknown): string {
  if (typeof name !== "string" || !SCHEMA.test(name) || name.startsWith("pg_")) {
    throw new QError(
      "INVALID_SCHEMA_NAME",
      `invalid schema name ${JSON.stringify(name)}: use 1-48 characters of [a-z0-9_], not starting with a digit or pg_`,
      { details: { name } },
    );
  }
  return name;
}

export function assertQueueName(name: unknown): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new QError(
      "INVALID_QUEUE_NAME",
      `invalid queue name ${JSON.stringify(name)}: use 1-128 characters of [A-Za-z0-9_.:-]`,
      { details: { name } },
    );
  }
  return name;
}

export function assertTaskName(name: unknown): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new QError(
      "INVALID_TASK_NAME",
      `invalid task name ${JSON.stringify(name)}: use 1-128 characters of [A-Za-z0-9_.:-]`,
      { details: { name } },
    );
  }
  return name;
}
