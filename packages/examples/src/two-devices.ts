/**
 * Two devices in one application: a data disk and a journal disk, each a
 * service of the application's own (`Data`, `Journal`) whose shape is
 * `BlockDeviceShape`, each provided from an ordinary device layer with
 * `BlockDevice.layerAs`. The program appends a record to the journal,
 * flushes it, applies it to the data disk, and then copies the data disk to
 * a backup it connects for one scope only (`Registry.connectScoped`).
 *
 * Run it with `node packages/examples/dist/two-devices.js`.
 */
import { BlockDevice, type BlockDeviceShape, compare, copy } from "@effect-block/block"
import { RamdiskLive, Registry, RegistryLive } from "@effect-block/ramdisk"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { pathToFileURL } from "node:url"

/** The application's data disk. */
export class Data extends Context.Service<Data, BlockDeviceShape>()("examples/Data") {}

/** The application's journal disk: records are made durable here before the data disk changes. */
export class Journal extends Context.Service<Journal, BlockDeviceShape>()("examples/Journal") {}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** One sector holding `text`, zero-padded. */
const sectorOf = (sectorSize: number, text: string) => {
  const sector = new Uint8Array(sectorSize)
  sector.set(encoder.encode(text).subarray(0, sectorSize))
  return sector
}

/** The program: asks for `Data`, `Journal` and a `Registry` (for the scoped backup), and returns what it read back. */
export const program = Effect.gen(function*() {
  const data = yield* Data
  const journal = yield* Journal
  const { sectorSize, sizeSectors } = yield* data.info

  // Write-ahead: the record is durable in the journal before the data disk changes.
  yield* journal.write(0, sectorOf(sectorSize, "set sector 7 = hello"))
  yield* journal.flush
  yield* data.write(7, sectorOf(sectorSize, "hello"))
  yield* data.flush

  const readBack = new Uint8Array(sectorSize)
  yield* data.read(7, readBack)
  const record = new Uint8Array(sectorSize)
  yield* journal.read(0, record)

  // A third device for one scope only: connected, copied into, compared, and disconnected when the scope closes.
  const registry = yield* Registry
  const backupMatches = yield* Effect.scoped(Effect.gen(function*() {
    const backup = yield* registry.connectScoped({ name: "backup", sizeSectors, sectorSize })
    yield* copy(data, backup)
    return (yield* compare(data, backup)) === 0
  }))

  const result = {
    data: decoder.decode(readBack).replace(/\0+$/, ""),
    journal: decoder.decode(record).replace(/\0+$/, ""),
    journalSectors: (yield* journal.info).sizeSectors,
    backupMatches
  }
  yield* Console.log(`data sector 7: "${result.data}"; journal record: "${result.journal}"; backup matches: ${backupMatches}`)
  return result
})

/**
 * The layers: two ramdisks in one registry, each under its own key. Swap
 * either for a `FileLive(...)` layer (also piped through
 * `BlockDevice.layerAs`) to put it on a file.
 */
export const TwoDevicesLive = Layer.mergeAll(
  RamdiskLive({ name: "data", sizeSectors: 2048 }).pipe(BlockDevice.layerAs(Data)),
  RamdiskLive({ name: "journal", sizeSectors: 256 }).pipe(BlockDevice.layerAs(Journal))
).pipe(Layer.provideMerge(RegistryLive))

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(Effect.provide(program, TwoDevicesLive)).catch((error: unknown) => {
    process.exitCode = 1
    process.stderr.write(`two-devices failed: ${String(error)}\n`)
  })
}
