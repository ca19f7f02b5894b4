/**
 * `effect-block serve`: serves one device over NBD until SIGINT or SIGTERM.
 *
 * The device is a fresh ramdisk (`--size`) or a file (`--file`), optionally
 * under a crash simulator (`--crash`, a volatile write cache that loses
 * unflushed writes when the server "loses power" on SIGUSR1) and a fault
 * injector (the `--*-rate`, `--bad-sectors` and `--latency-*` flags). Once
 * the server accepts connections the export's NBD URI is printed on stdout
 * as one line; crashes are reported there too.
 *
 * @since 0.1.0
 */
import { BlockDevice, type BlockDeviceShape, formatError } from "@effect-block/block"
import { FileLive } from "@effect-block/file"
import { makeServer } from "@effect-block/nbd"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { CrashSimulator, CrashSimulatorLive, faultInjector, type FaultInjectorOptions } from "@effect-block/testing"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import { Command, Flag } from "effect/cli"
import * as Fs from "node:fs"
import { CommandLineError, describedFlag, flagError } from "./Errors.js"
import { parseSize } from "./Size.js"

const optionalRate = (name: string, what: string) =>
  Flag.Finite(name).pipe(Flag.optional, Flag.withDescription(`${what}: a probability per call, from 0 to 1 (fault injector)`))

const optionalMillis = (name: string, what: string) =>
  Flag.Finite(name).pipe(Flag.optional, Flag.withDescription(`milliseconds each ${what} takes (fault injector)`))

/** The flags of `serve`. */
const flags = {
  size: describedFlag(
    Flag.String("size").pipe(Flag.withDefault("64MiB")),
    "size of the ramdisk, or of the file created by --file: 512, 64MiB, 1G (binary units; default 64MiB)"
  ),
  socket: describedFlag(
    Flag.String("socket").pipe(Flag.optional),
    "Unix socket path to listen on (the default, in the temporary directory, when --port is not given)"
  ),
  port: describedFlag(Flag.Int("port").pipe(Flag.optional), "listen on this TCP port instead (0: any free port)"),
  host: describedFlag(Flag.String("host").pipe(Flag.optional), "TCP address to bind with --port (default 127.0.0.1)"),
  file: describedFlag(
    Flag.String("file").pipe(Flag.optional),
    "serve this file instead of a ramdisk (created with --size when it does not exist)"
  ),
  sectorSize: describedFlag(
    Flag.Int("sector-size").pipe(Flag.withDefault(512)),
    "bytes per sector, a power of two up to 65536 (default 512); the export's minimum block size"
  ),
  readOnly: describedFlag(Flag.Boolean("read-only").pipe(Flag.withDefault(false)), "refuse every write"),
  exportName: describedFlag(Flag.String("export").pipe(Flag.withDefault("")), "the export's name (default: empty, NBD's default export)"),
  seed: describedFlag(
    Flag.Int("seed").pipe(Flag.withDefault(0)),
    "seed of every random choice of the fault injector and the crash simulator (default 0)"
  ),
  readErrorRate: optionalRate("read-error-rate", "reads fail EIO without reaching the device"),
  writeErrorRate: optionalRate("write-error-rate", "writes fail EIO after a seeded prefix landed"),
  flushErrorRate: optionalRate("flush-error-rate", "flushes fail EIO and make nothing durable"),
  readCorruptionRate: optionalRate("read-corruption-rate", "reads return one flipped bit"),
  misdirectedWriteRate: optionalRate("misdirected-write-rate", "writes land at another place"),
  badSectors: describedFlag(
    Flag.String("bad-sectors").pipe(Flag.optional),
    "latent sector errors, START+COUNT[,START+COUNT...] in sectors: reads touching them fail EIO until written (fault injector)"
  ),
  latencyRead: optionalMillis("latency-read", "read"),
  latencyWrite: optionalMillis("latency-write", "write"),
  latencyFlush: optionalMillis("latency-flush", "flush"),
  crash: describedFlag(
    Flag.Boolean("crash").pipe(Flag.withDefault(false)),
    "put a crash simulator under the export: writes are volatile until flushed; on SIGUSR1 the server drops every connection, crashes into a seeded state (printed) and serves the crashed image"
  )
}

type ServeConfig = {
  readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> ? A : never
}

const isPowerOfTwo = (n: number) => n >= 1 && n <= 65536 && (n & (n - 1)) === 0

const parseBadSectors = (text: string) => {
  const ranges = []
  for (const part of text.split(",")) {
    const match = /^\s*(\d+)\s*\+\s*(\d+)\s*$/.exec(part)
    if (match === null) return flagError("bad-sectors", `${JSON.stringify(part)} is not START+COUNT`)
    ranges.push({ start: Number(match[1]), sectors: Number(match[2]) })
  }
  return ranges
}

/** The fault injector's options from the flags, or undefined when no fault flag was given. */
const faultOptions = (config: ServeConfig): FaultInjectorOptions | CommandLineError | undefined => {
  const rates = [
    ["read-error-rate", "readErrorRate"],
    ["write-error-rate", "writeErrorRate"],
    ["flush-error-rate", "flushErrorRate"],
    ["read-corruption-rate", "readCorruptionRate"],
    ["misdirected-write-rate", "misdirectedWriteRate"]
  ] as const
  const options: { -readonly [K in keyof FaultInjectorOptions]: FaultInjectorOptions[K] } = { seed: config.seed }
  let any = false
  for (const [flag, key] of rates) {
    const value = config[key]
    if (Option.isNone(value)) continue
    if (!(value.value >= 0 && value.value <= 1)) return flagError(flag, `${value.value} is not a probability from 0 to 1`)
    options[key] = value.value
    any = true
  }
  if (Option.isSome(config.badSectors)) {
    const ranges = parseBadSectors(config.badSectors.value)
    if (ranges instanceof CommandLineError) return ranges
    options.badSectors = ranges
    any = true
  }
  const latency: { read?: number; write?: number; flush?: number } = {}
  for (const [flag, key, field] of [["latency-read", "latencyRead", "read"], ["latency-write", "latencyWrite", "write"], [
    "latency-flush",
    "latencyFlush",
    "flush"
  ]] as const) {
    const value = config[key]
    if (Option.isNone(value)) continue
    if (!(value.value >= 0 && Number.isFinite(value.value))) return flagError(flag, `${value.value} is not a duration in milliseconds ≥ 0`)
    latency[field] = value.value
    any = true
  }
  if (Object.keys(latency).length > 0) options.latency = latency
  return any ? options : undefined
}

/** The device layer the flags describe (ramdisk or file, maybe under a crash simulator). */
const deviceLayer = (config: ServeConfig, sizeBytes: number) => {
  const sizeSectors = sizeBytes / config.sectorSize
  let base: Layer.Layer<BlockDevice, unknown>
  if (Option.isSome(config.file)) {
    const path = config.file.value
    const exists = Fs.existsSync(path)
    base = FileLive({
      path,
      sectorSize: config.sectorSize,
      readOnly: config.readOnly,
      ...(exists ? {} : { create: { sizeSectors } })
    })
  } else {
    base = RamdiskLive({ name: "ramdisk", sizeSectors, sectorSize: config.sectorSize }).pipe(Layer.provide(RegistryLive))
  }
  return config.crash ? CrashSimulatorLive({ seed: config.seed }).pipe(Layer.provideMerge(base)) : base
}

/** SIGUSR1, as a stream of wake-ups, for as long as the scope is open. */
const powerFailures = Effect.acquireRelease(
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<void>()
    const listener = () => {
      Queue.offerUnsafe(queue, undefined)
    }
    process.on("SIGUSR1", listener)
    return { queue, listener }
  }),
  ({ listener }) => Effect.sync(() => process.off("SIGUSR1", listener))
)

const run = (config: ServeConfig) =>
  Effect.gen(function*() {
    const size = parseSize(config.size)
    if (typeof size === "string") return yield* flagError("size", size)
    if (!isPowerOfTwo(config.sectorSize)) {
      return yield* flagError("sector-size", `${config.sectorSize} is not a power of two from 1 to 65536`)
    }
    if (size % config.sectorSize !== 0) {
      return yield* flagError("size", `${size} bytes is not a whole number of ${config.sectorSize}-byte sectors`)
    }
    if (Option.isSome(config.port) && Option.isSome(config.socket)) {
      return yield* flagError("port", "give --socket or --port, not both")
    }
    if (Option.isSome(config.host) && Option.isNone(config.port)) return yield* flagError("host", "needs --port")
    if (Option.isSome(config.port) && !(config.port.value >= 0 && config.port.value <= 65535)) {
      return yield* flagError("port", `${config.port.value} is not a port from 0 to 65535`)
    }
    if (config.crash && config.readOnly) return yield* flagError("crash", "cannot be combined with --read-only")
    const faults = faultOptions(config)
    if (faults instanceof CommandLineError) return yield* faults

    const context = yield* Layer.build(deviceLayer(config, size)).pipe(
      Effect.mapError((error) => new CommandLineError({ message: describe(error, config) }))
    )
    let device: BlockDeviceShape = Context.get(context, BlockDevice)
    const simulator = Option.getOrUndefined(Context.getOption(context as Context.Context<never>, CrashSimulator))
    if (faults !== undefined) {
      const injected = yield* faultInjector(device, faults).pipe(
        Effect.mapError((error) => new CommandLineError({ message: `fault injector: ${formatError(error)}` }))
      )
      device = injected.device
    }
    const server = yield* makeServer({
      exports: [{ name: config.exportName, device, readOnly: config.readOnly }],
      ...(Option.isSome(config.port)
        ? { port: config.port.value, ...(Option.isSome(config.host) ? { host: config.host.value } : {}) }
        : Option.isSome(config.socket)
        ? { socket: config.socket.value }
        : {})
    }).pipe(Effect.mapError((error) => new CommandLineError({ message: error.message })))
    // Listen for SIGUSR1 before telling anyone where we are: Node's default for it starts the inspector.
    const power = simulator === undefined ? undefined : yield* powerFailures
    yield* Console.log(server.uri(config.exportName))
    const powerNote = simulator === undefined ? "" : `; kill -USR1 ${process.pid} makes it lose power`
    yield* Console.error(`effect-block serve: pid ${process.pid}${powerNote}`)
    if (simulator !== undefined && power !== undefined) {
      const { queue } = power
      while (true) {
        yield* Queue.take(queue)
        const state = yield* server.whileDisconnected(simulator.crash()).pipe(Effect.result)
        if (state._tag === "Success") yield* Console.log(`crashed: ${state.success.toString()}`)
        else yield* Console.error(`effect-block serve: crash failed: ${formatError(state.failure)}`)
      }
    }
    return yield* Effect.never
  }).pipe(Effect.scoped)

const describe = (error: unknown, config: ServeConfig): string => {
  const message = typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)
  return Option.isSome(config.file) ? `--file ${config.file.value}: ${message}` : message
}

/**
 * The `serve` subcommand.
 *
 * @since 0.1.0
 */
export const serve = Command.make("serve", flags, run).pipe(
  Command.withDescription(
    "Serve a ramdisk or a file over NBD (Unix socket by default) until SIGINT/SIGTERM, printing the export's NBD URI on stdout. Fault-injection and crash-simulation flags make it a disk that fails or loses power."
  )
)
