export * from "./proposal";
export * from "./errors";
export * from "./schema";
export * from "./sqlite-store";
export * from "./dynamodb-store";
