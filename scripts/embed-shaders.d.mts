/** Renders src/shaders/sources.ts from shaders/*.wgsl. */
export function renderSources(): string;
