/** Types for bundle.mjs, which stays plain JavaScript so the launcher can run it without a TypeScript loader. */
export declare const bundlePath: string;
export declare function bundleIsStale(): boolean;
export declare function buildCliBundle(): Promise<string>;
export declare function ensureCliBundle(): Promise<string>;
export declare function cliNodeFlags(env?: Record<string, string | undefined>): string[];
