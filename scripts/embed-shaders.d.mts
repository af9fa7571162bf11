/** Renders src/shaders/sources.ts from shaders/*.wgsl. */
export function renderSources(): string;
/** A shader's embedded text: lines trimmed, comments and blank lines left out but the first line and `// requires:` lines. */
export function runtimeText(text: string): string;
