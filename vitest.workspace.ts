/**
 * The test projects, one per package. Vitest 4 and later no longer read a
 * workspace file on their own; `vitest.config.ts` takes this list from here.
 */
export default [
  "packages/device",
  "packages/block",
  "packages/ramdisk",
  "packages/testing",
  "packages/file",
  "packages/nbd",
  "packages/cli",
  "packages/sqlite",
  "packages/examples",
  "packages/bench",
  "packages/docs"
]
