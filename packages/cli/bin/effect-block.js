#!/usr/bin/env node
// The effect-block command. The root package's `prepare` script builds dist/ during `npm ci`.
import { existsSync } from "node:fs"

const main = new URL("../dist/main.js", import.meta.url)
if (!existsSync(main)) {
  process.stderr.write("effect-block: not built yet: run `npm run build` at the repository root\n")
  process.exit(1)
}
await import(main.href)
