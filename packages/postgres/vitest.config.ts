import { packageTestConfig } from "../../vitest.shared.ts";

export default packageTestConfig("postgres", { globalSetup: "@q/test-postgres/global-setup" });
