import { describeDriver } from "@q/core/conformance";
import { type PrivateServer, privateServerMissing, startPrivateServer } from "@q/test-postgres";
import { afterAll, beforeAll, describe } from "vitest";
import { makePgHarness } from "./harness.js";

// The whole driver conformance suite on each supported major other than the
// one of DATABASE_URL (which conformance.test.ts covers), one server at a time.
for (const major of [14, 16, 17, 18]) {
  describe.skipIf(privateServerMissing(major) !== undefined)(`PostgreSQL ${major}`, () => {
    let server: PrivateServer | undefined;
    beforeAll(async () => {
      server = await startPrivateServer({ major, settings: { max_connections: "100" } });
    }, 60_000);
    afterAll(async () => {
      await server?.destroy();
    });
    describeDriver(`pg on PostgreSQL ${major}`, makePgHarness, {
      databaseUrl: () => server!.url,
      jobs: 1000,
    });
  });
}
