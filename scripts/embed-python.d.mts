export function renderPythonSources(): string;
