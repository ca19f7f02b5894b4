/**
 * Settings every package's test project shares: tests run against each
 * package's TypeScript sources (the "source" export condition) rather than
 * its build output, so `vitest` needs no build step and reports source lines.
 */
import { defineProject } from "vitest/config"

export const project = (name: string) =>
  defineProject({
    resolve: { conditions: ["source"] },
    ssr: { resolve: { conditions: ["source"] } },
    test: {
      name,
      include: ["test/**/*.test.ts"],
      setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
      // vitest's 5 s default is a speed limit, not a correctness check: property tests (ramdisk, hostile
      // values, crash exploration) run hundreds of cases and, on a loaded 2-core CI machine running every
      // project at once, some took over 5 s and failed with a timeout. Speed targets live in benchmarks
      // (`npm run bench`); here a test only has to finish, so give every test and hook 30 s.
      testTimeout: 30_000,
      hookTimeout: 30_000
    }
  })
