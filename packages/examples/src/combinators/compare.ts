/**
 * `compare`: order two disks by content, like byte strings.
 */
import { compare, copy } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { disks } from "./disks.js"
import { runMain } from "./run.js"

/** Compares equal disks, then disks differing in one byte; returns both orders. */
export const program = Effect.gen(function*() {
  const [a, b] = yield* disks(["a", "b"], 64)
  yield* a!.write(10, new Uint8Array(512).fill(5))
  yield* copy(a!, b!)
  const equal = yield* compare(a!, b!)
  const sector = new Uint8Array(512).fill(5)
  sector[100] = 6
  yield* b!.write(10, sector)
  const smaller = yield* compare(a!, b!)
  yield* Console.log(`equal disks: ${equal}; after raising one byte of b: compare(a, b) = ${smaller}`)
  return { equal, smaller }
})

runMain(import.meta.url, program)
