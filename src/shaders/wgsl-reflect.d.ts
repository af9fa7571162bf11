// wgsl_reflect's ESM build has no declaration file of its own; its types live
// under types/. (Its `main` entry is CommonJS inside a "type": "module"
// package, so Node must import the module build by path.)
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
