// The domain logic, one folder per concern; the AWS entry points live in packages/functions.
export * from "./support/json";
export * from "./support/logger";
export * from "./support/sqlite";
export * from "./support/read-cache";
export * from "./aws/clients";
export * from "./aws/access-denied";
export * from "./aws/member-role";
export * from "./events";
export * from "./controls";
export * from "./policy";
export * from "./log";
export * from "./proposals";
export * from "./approvals";
export * from "./runner";
export * from "./report";
