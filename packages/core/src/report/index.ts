export * from "./model";
export * from "./sections";
export * from "./durations";
export * from "./ledger";
export * from "./control-modes";
export * from "./build";
export * from "./log-query";
