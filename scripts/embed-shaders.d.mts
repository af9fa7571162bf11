/** Renders src/shaders/sources.ts from shaders/*.wgsl. */
export function renderSources(): string;
/** A shader's embedded text: whole-line comments left out but the first line and `// requires:` lines. */
export function runtimeText(text: string): string;
