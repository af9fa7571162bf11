// The `enable subgroups;` directive, for kernels that use subgroup built-ins.
// A directive must precede every declaration of a module, so such a kernel
// names this file first on its `requires:` line (the module then starts here).
// Compiling it needs a device created with the 'subgroups' feature.
enable subgroups;
