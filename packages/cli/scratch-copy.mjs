import { Effect } from "effect"
import { copyDevices } from "./dist/CopyDevices.js"
import { openTarget } from "./dist/Target.js"
const [src, dst, conc = "8", chunk = String(2 * 1024 * 1024)] = process.argv.slice(2)
const run = Effect.gen(function* () {
  const a = yield* openTarget(src, { readOnly: true })
  const b = yield* openTarget(dst, { readOnly: false, createBytes: (yield* a.device.info).sizeSectors * 512 })
  const t0 = performance.now()
  const stats = yield* copyDevices(a.device, b.device, { concurrency: Number(conc), chunkBytes: Number(chunk) })
  console.log(src.slice(0, 20), "->", dst.slice(0, 20), ((performance.now() - t0) / 1000).toFixed(2), "s", JSON.stringify(stats))
})
Effect.runPromise(Effect.scoped(run)).catch((e) => { console.error(e); process.exit(1) })
