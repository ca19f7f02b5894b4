/**
 * `effect-block copy SRC DST`: copies a disk to another, sparse by default
 * (holes in the source stay holes in the destination), each side a file
 * path or an NBD URI. A destination file that does not exist is created
 * with the source's size. Progress goes to stderr: a bar on a terminal, a
 * plain line every few seconds otherwise, nothing with `--quiet`.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Fs from "node:fs"
import { copyDevices } from "./CopyDevices.js"
import { CommandLineError, describedFlag, flagError } from "./Errors.js"
import { formatSize, parseSize } from "./Size.js"
import { isNbdUri, openTarget } from "./Target.js"

const human = (bytes: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`
}

/**
 * A progress reporter: on a terminal a bar redrawn at most ten times a
 * second; elsewhere one line every `intervalMillis`; `done()` ends it.
 *
 * @since 0.1.0
 */
export const progressReporter = (options: {
  readonly quiet: boolean
  readonly tty: boolean
  readonly write: (text: string) => void
  readonly intervalMillis?: number
  readonly now?: () => number
}) => {
  const now = options.now ?? Date.now
  const started = now()
  let last = -Infinity
  let latest = { done: 0, total: 0 }
  const interval = options.tty ? 100 : options.intervalMillis ?? 2000
  const line = (done: number, total: number) => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100)
    const seconds = Math.max(0.001, (now() - started) / 1000)
    const rate = `${human(done / seconds)}/s`
    if (!options.tty) return `copy: ${percent}% (${done}/${total} bytes, ${rate})\n`
    const width = 30
    const filled = Math.round((percent / 100) * width)
    return `\r${String(percent).padStart(3)}% [${"#".repeat(filled)}${".".repeat(width - filled)}] ${human(done)} / ${human(total)}  ${rate}  `
  }
  return {
    update: (done: number, total: number) => {
      latest = { done, total }
      if (options.quiet) return
      const t = now()
      if (t - last < interval) return
      last = t
      options.write(line(done, total))
    },
    done: () => {
      if (options.quiet) return
      options.write(line(latest.total, latest.total) + (options.tty ? "\n" : ""))
    }
  }
}

const flags = {
  src: Argument.String("src").pipe(Argument.withDescription("the source: a file path or an NBD URI")),
  dst: Argument.String("dst").pipe(
    Argument.withDescription("the destination: a file path (created with the source's size if missing) or an NBD URI")
  ),
  quiet: describedFlag(Flag.Boolean("quiet").pipe(Flag.withDefault(false)), "print no progress"),
  allocated: describedFlag(
    Flag.Boolean("allocated").pipe(Flag.withDefault(false)),
    "write every byte, zeros included (default: sparse, holes stay holes)"
  ),
  flush: describedFlag(
    Flag.Boolean("flush").pipe(Flag.withDefault(false)),
    "flush the destination before exiting, so the copy is durable (default: off, as nbdcopy)"
  ),
  requests: describedFlag(
    Flag.Int("requests").pipe(Flag.withDefault(8)),
    "requests in flight at once, 1 to 64 (default 8)"
  ),
  requestSize: describedFlag(
    Flag.String("request-size").pipe(Flag.withDefault("2MiB")),
    "bytes per request: 64KiB to 32MiB (default 2MiB)"
  )
}

/**
 * The `copy` subcommand.
 *
 * @since 0.1.0
 */
export const copy = Command.make("copy", flags, ({ allocated, dst, flush, quiet, requestSize, requests, src }) =>
  Effect.gen(function*() {
    if (!Number.isSafeInteger(requests) || requests < 1 || requests > 64) {
      return yield* flagError("requests", `${requests} is not from 1 to 64`)
    }
    const chunkBytes = parseSize(requestSize)
    if (typeof chunkBytes === "string") return yield* flagError("request-size", chunkBytes)
    if (chunkBytes < 65536 || chunkBytes > 32 * 1024 * 1024) {
      return yield* flagError("request-size", `${formatSize(chunkBytes)} is not from 64KiB to 32MiB`)
    }
    const source = yield* openTarget(src, { readOnly: true })
    const { sectorSize, sizeSectors } = yield* source.device.info
    const createsFile = !isNbdUri(dst) && !Fs.existsSync(dst)
    const destination = yield* openTarget(dst, { readOnly: false, sectorSize, createBytes: sizeSectors * sectorSize })
    const reporter = progressReporter({
      quiet,
      tty: process.stderr.isTTY === true,
      write: (text) => process.stderr.write(text)
    })
    const stats = yield* copyDevices(source.device, destination.device, {
      sparse: !allocated,
      destinationIsZero: createsFile,
      serialWrites: destination.kind === "file",
      flush,
      chunkBytes,
      concurrency: requests,
      progress: reporter.update
    }).pipe(Effect.mapError((error) => new CommandLineError({ message: error.message })))
    reporter.done()
    if (!quiet) yield* Console.error(`copied ${human(stats.bytes)}: ${human(stats.dataBytes)} of data, ${human(stats.zeroBytes)} of zeros`)
  }).pipe(
    Effect.scoped,
    Effect.catchTag("TargetError", (error) => Effect.fail(new CommandLineError({ message: error.message })))
  )).pipe(Command.withDescription("Copy a disk (file or NBD URI) to another, sparse by default, with progress on stderr."))
