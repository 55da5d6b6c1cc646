/** `node-gyp-build` (a dependency of `keccak`) ships no types: it loads a package's native add-on. */
declare module "node-gyp-build" {
  function load(packageDirectory: string): unknown;
  export = load;
}
