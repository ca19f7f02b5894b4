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
      setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname]
    }
  })
