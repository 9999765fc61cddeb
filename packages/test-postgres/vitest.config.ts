import { packageTestConfig } from "../../vitest.shared.ts";

export default packageTestConfig("test-postgres", { globalSetup: "./src/global-setup.ts" });
