import { packageTestConfig } from "../../vitest.shared.ts";

export default packageTestConfig("pg", { globalSetup: "@q/test-postgres/global-setup" });
