/**
 * The interop suite's own configuration: `npm run test:interop` runs it,
 * `npm test` does not (it is not in vitest.workspace.ts). Files run one at a
 * time: the real programs are heavy and the machine is small. Every test and
 * hook has a bound.
 */
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"
import "../../vitest.polyfills.js"

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    name: "interop",
    include: ["test/**/*.test.ts"],
    setupFiles: [fileURLToPath(new URL("../../vitest.setup.ts", import.meta.url))],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000
  }
})
