export * from "./categories";
export * from "./contract";
export * from "./iam";
export * from "./least-privilege";
export * from "./matcher";
export * from "./patterns";
