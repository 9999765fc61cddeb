import { QError } from "./errors.js";

/** Checks enqueue and worker options; bad ones fail before any SQL runs. */
export function intOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new QError("INVALID_OPTION", `${name} must be an integer from ${min} to ${max}`, {
      details: { option: name, value },
    });
  }
  return value;
}

export function msOption(name: string, value: unknown, min = 0): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new QError("INVALID_OPTION", `${name} must be a number of milliseconds >= ${min}`, {
      details: { option: name, value },
    });
  }
  return value;
}

export function dateOption(name: string, value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new QError("INVALID_OPTION", `${name} must be a valid Date`, {
      details: { option: name, value },
    });
  }
  return value;
}

export function keyOption(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 512) {
    throw new QError("INVALID_OPTION", "key must be a string of 1 to 512 characters", {
      details: { option: "key", value },
    });
  }
  return value;
}

export const INT32_MAX = 2_147_483_647;
