/** Types of readme-files.mjs, for the TypeScript that imports it (the README test). */
export declare const README: string;
export declare function readmeFiles(markdown?: string): { path: string; code: string }[];
