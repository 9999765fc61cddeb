import { packageTestConfig } from "../../vitest.shared.ts";

export default packageTestConfig("kysely", { globalSetup: "@q/test-postgres/global-setup" });
