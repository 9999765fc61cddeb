import type { StandardSchemaV1 } from "@standard-schema/spec";

/** A minimal Standard Schema: `{ n: number }`, without any validation library. */
export const numberPayload: StandardSchemaV1<{ n: number }, { n: number }> = {
  "~standard": {
    version: 1,
    vendor: "q-test",
    validate(value) {
      const n = (value as { n?: unknown } | null)?.n;
      return typeof n === "number"
        ? { value: { n } }
        : { issues: [{ message: "n must be a number", path: ["n"] }] };
    },
  },
};
