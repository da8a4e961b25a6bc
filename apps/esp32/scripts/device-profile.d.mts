// Types of device-profile.mjs, for the tests that import it.
export function withoutMessages(source: string, fileName: string): string;
export const PROFILED: RegExp;
export function messageFree(only?: string): { name: string; setup(build: unknown): void };
export const MESSAGE_ARGUMENTS: Readonly<Record<string, readonly number[]>>;
