// Types of build-wasm.js for the test that checks the generated modules are fresh.
export function watFiles(dir?: string): string[];
export function generatedModule(watPath: string): Promise<string>;
export function moduleFor(watPath: string): string;
