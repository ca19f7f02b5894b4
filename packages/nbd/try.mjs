import { Effect, Layer } from "effect"
import { NbdServer, NbdServerLive } from "@effect-block/nbd"
import { Registry, RegistryLive } from "@effect-block/ramdisk"
const program = Effect.gen(function*() {
  const registry = yield* Registry
  yield* registry.connect({ name: "disk", sizeSectors: 2048*1024 })
  const server = yield* NbdServer
  console.log(server.uri("disk"))
  yield* Effect.never
})
const ServerLive = Layer.unwrap(Effect.gen(function*() { const registry = yield* Registry; return NbdServerLive({ registry, socket: process.argv[2] }) }))
Effect.runFork(program.pipe(Effect.provide(ServerLive.pipe(Layer.provideMerge(RegistryLive)))))
process.on("SIGINT", () => process.exit(0)); process.on("SIGTERM", () => process.exit(0))
