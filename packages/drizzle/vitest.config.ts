import { packageTestConfig } from "../../vitest.shared.ts";

export default packageTestConfig("drizzle", { globalSetup: "@q/test-postgres/global-setup" });
