/** Vite's `?url` imports: the served URL of an asset of the page's own origin. */
declare module '*.wasm?url' {
  const url: string;
  export default url;
}
