import { packageTestConfig } from "../../vitest.shared.ts";

export default packageTestConfig("dashboard", { globalSetup: "@q/test-postgres/global-setup" });
