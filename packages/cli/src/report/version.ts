import cliPackage from "../../package.json" with { type: "json" };

/** The tool's version as reports record it: the CLI package's, bundled at build time. */
export const TOOL_VERSION: string = cliPackage.version;
