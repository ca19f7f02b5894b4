/**
 * No input may crash the file device, leak a defect, throw synchronously or hang (docs/semantics.md,
 * "Bad input"): every public function of @effect-block/file (`FileDevice.make`, `FileLive`, and each
 * operation of the device they open) is called with every hostile family of @effect-block/testing's `hostileValues` in each
 * argument, and must answer with success or a typed failure, changing no data it was not asked to.
 * The property test draws random sequences of such calls; fast-check prints the seed of a failure, and
 * `{ arbitrary: { seed } }` replays it.
 */
import type { BlockDeviceShape } from "@effect-block/block"
import { FileDevice, FileLive, type FileOptions } from "@effect-block/file"
import { HostileIndex, hostileValues } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"

const sectors = 16

/** The pattern sector `sector` holds in every test image. */
const sectorPattern = (sector: number) => new Uint8Array(512).fill(sector + 1)

interface Setup {
  readonly dir: string
  readonly path: string
  readonly device: BlockDeviceShape
}

/** A fresh directory holding an image of 16 patterned sectors, open as `device`. */
const setup = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-block-file-hostile-"))),
    (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
  )
  const path = Path.join(dir, "disk.img")
  const device = yield* FileDevice.make({ path, create: { sizeSectors: sectors } })
  for (let sector = 0; sector < sectors; sector++) yield* device.write(sector, sectorPattern(sector))
  return { dir, path, device } satisfies Setup
})

const opened = (options: unknown) => Effect.scoped(Effect.asVoid(FileDevice.make(options as FileOptions)))

/** Opens `new.img` in `dir` with `options`, and removes it again, so every call starts from the same state. */
const created = (dir: string, options: object) => {
  const path = Path.join(dir, "new.img")
  return opened({ path, ...options }).pipe(Effect.ensuring(Effect.promise(() => Fs.rm(path, { force: true }))))
}

/** Families that are, underneath, a real 512-byte `Uint8Array`: a device reads or writes their memory. */
const realBuffers = [
  "a Uint8Array subclass whose getters throw",
  "a Uint8Array subclass whose getters lie",
  "a Uint8Array subclass claiming 1 GiB whose length throws",
  "a Uint8Array whose own byteLength lies",
  "a Uint8Array over a SharedArrayBuffer"
]

interface Target {
  readonly name: string
  readonly run: (setup: Setup, value: unknown) => Effect.Effect<unknown, unknown, Scope.Scope>
  /** The families this argument may accept, because they are valid values (`undefined` for an optional option). */
  readonly accepts: ReadonlyArray<string>
}

/** Every public function, with the hostile value in one argument. */
const targets: ReadonlyArray<Target> = [
  { name: "FileDevice.make(value)", run: (_, value) => opened(value), accepts: [] },
  {
    // Without create, so a string that is a valid relative path cannot make a file where the tests run.
    name: "FileDevice.make({ path: value })",
    run: (_, value) => opened({ path: value }),
    accepts: []
  },
  {
    name: "FileDevice.make({ path, sectorSize: value, create })",
    run: ({ dir }, value) => created(dir, { sectorSize: value, create: { sizeSectors: 1 } }),
    accepts: ["undefined"]
  },
  { name: "FileDevice.make({ path, readOnly: value })", run: ({ path }, value) => opened({ path, readOnly: value }), accepts: ["true", "undefined"] },
  {
    name: "FileDevice.make({ path, create: value })",
    run: ({ dir }, value) => created(dir, { create: value }),
    accepts: []
  },
  {
    name: "FileDevice.make({ path, create: { sizeSectors: value } })",
    run: ({ dir }, value) => created(dir, { create: { sizeSectors: value } }),
    accepts: []
  },
  { name: "FileLive(value)", run: (_, value) => Effect.asVoid(Layer.build(FileLive(value as FileOptions))), accepts: [] },
  { name: "read(value, buffer)", run: ({ device }, value) => device.read(value as number, new Uint8Array(512)), accepts: [] },
  { name: "read(0, value)", run: ({ device }, value) => device.read(0, value as Uint8Array), accepts: realBuffers },
  { name: "write(value, buffer)", run: ({ device }, value) => device.write(value as number, new Uint8Array(512)), accepts: [] },
  { name: "write(0, value)", run: ({ device }, value) => device.write(0, value as Uint8Array), accepts: realBuffers },
  { name: "discard(value, 1)", run: ({ device }, value) => device.discard(value as number, 1), accepts: [] },
  { name: "discard(0, value)", run: ({ device }, value) => device.discard(0, value as number), accepts: [] },
  { name: "resize(value)", run: ({ device }, value) => device.resize(value as number), accepts: [] },
  { name: "seekMapped(value)", run: ({ device }, value) => device.seekMapped(value as number), accepts: [] },
  { name: "seekUnmapped(value)", run: ({ device }, value) => device.seekUnmapped(value as number), accepts: [] }
]

/** The typed errors a call may fail with. */
const typed = new Set(["InvalidRequest", "FileOpenError"])

/**
 * Calls target `t` with family `h`, requiring no synchronous throw, no defect, and success only for a
 * value the argument accepts. Returns a description of what went wrong, or undefined.
 */
const call = (setup: Setup, t: number, h: number): Effect.Effect<string | undefined, never, Scope.Scope> => {
  const target = targets[t]!
  const [family, make] = hostileValues[h]!
  const what = `${target.name} with ${family}`
  let effect: Effect.Effect<unknown, unknown, Scope.Scope>
  try {
    effect = target.run(setup, make())
  } catch (thrown) {
    return Effect.succeed(`${what} threw synchronously: ${String(thrown)}`)
  }
  return Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) return target.accepts.includes(family) ? undefined : `${what} was accepted`
    const error = Cause.findErrorOption(exit.cause)
    if (error._tag === "None") return `${what} died: ${Cause.pretty(exit.cause)}`
    const tag = (error.value as { readonly _tag?: unknown })._tag
    return typeof tag === "string" && typed.has(tag) ? undefined : `${what} failed with an untyped ${String(tag)}`
  })
}

/** Sectors 1.. hold their pattern, sector 0 its pattern or the zeros a hostile-but-real buffer wrote; 16 sectors. */
const intact = ({ device, path }: Setup) =>
  Effect.gen(function*() {
    expect((yield* Effect.promise(() => Fs.stat(path))).size).toBe(sectors * 512)
    expect(yield* device.info).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: sectors })
    const buffer = new Uint8Array(sectors * 512)
    yield* device.read(0, buffer)
    const first = buffer.subarray(0, 512)
    expect(first.every((byte) => byte === 1) || first.every((byte) => byte === 0)).toBe(true)
    for (let sector = 1; sector < sectors; sector++) {
      expect(buffer.subarray(sector * 512, (sector + 1) * 512)).toEqual(sectorPattern(sector))
    }
  })

describe("every public function", () => {
  it.effect("answers every hostile family in every argument with success or a typed failure", () =>
    Effect.gen(function*() {
      const context = yield* setup
      const problems: Array<string> = []
      for (let t = 0; t < targets.length; t++) {
        for (let h = 0; h < hostileValues.length; h++) {
          const problem = yield* call(context, t, h)
          if (problem !== undefined) problems.push(problem)
        }
      }
      expect(problems).toEqual([])
      yield* intact(context)
      // Only the file the setup made, and no image created from a hostile `create`.
      expect(yield* Effect.promise(() => Fs.readdir(context.dir))).toEqual(["disk.img"])
    }), { timeout: 60_000 })

  it.effect.prop(
    "any sequence of hostile calls leaves the device working and its data as it was",
    [Schema.Array(Schema.Tuple([
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: targets.length - 1 })),
      HostileIndex
    ])).check(Schema.isMaxLength(30))],
    ([calls]) =>
      Effect.gen(function*() {
        const context = yield* setup
        for (const [t, h] of calls) {
          const problem = yield* call(context, t, h)
          expect(problem).toBeUndefined()
        }
        yield* intact(context)
      }),
    { timeout: 60_000, arbitrary: { runs: 50 } }
  )
})

describe("readOnly", () => {
  it.effect("opens read-only or read-write only for a real boolean: no hostile value is taken as either", () =>
    Effect.gen(function*() {
      const { path } = yield* setup
      for (const [family, make] of hostileValues) {
        const exit = yield* Effect.exit(Effect.scoped(FileDevice.make({ path, readOnly: make() as boolean })))
        const accepted = family === "true" || family === "undefined"
        expect(Exit.isSuccess(exit), family).toBe(accepted)
      }
    }))
})
