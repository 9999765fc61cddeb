import { packageTestConfig } from "../../vitest.shared.ts";

export default packageTestConfig("cli", { globalSetup: "@q/test-postgres/global-setup" });
