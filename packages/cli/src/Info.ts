/**
 * `effect-block info TARGET`: what a disk is — its size, sector size,
 * whether it is writable, and for an NBD export what the server said in the
 * handshake (block sizes, flags, structured replies, `base:allocation`).
 * `--json` prints the same as one JSON object.
 *
 * @since 0.1.0
 */
import { transmissionFlagNames } from "@effect-block/nbd"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Argument, Command, Flag } from "effect/cli"
import { CommandLineError, describedFlag } from "./Errors.js"
import { formatSize } from "./Size.js"
import { type Opened, openTarget } from "./Target.js"

/**
 * What `info` reports, as its `--json` prints it.
 *
 * @since 0.1.0
 */
export interface InfoReport {
  readonly target: string
  readonly kind: "nbd" | "file"
  readonly sizeBytes: number
  readonly sectorSize: number
  readonly sizeSectors: number
  readonly readOnly: boolean
  readonly nbd?: {
    readonly exportName: string
    readonly exportSizeBytes: number
    readonly minimumBlock: number
    readonly preferredBlock: number
    readonly maximumBlock: number
    readonly flags: ReadonlyArray<string>
    readonly structuredReplies: boolean
    readonly baseAllocation: boolean
    readonly handshake: "NBD_OPT_GO" | "NBD_OPT_EXPORT_NAME"
  }
}

/**
 * The report for an opened TARGET.
 *
 * @since 0.1.0
 */
export const report = (opened: Opened): Effect.Effect<InfoReport> =>
  Effect.map(opened.device.info, (info) => {
    const nbd = opened.nbd
    return {
      target: opened.target,
      kind: opened.kind,
      sizeBytes: info.sizeSectors * info.sectorSize,
      sectorSize: info.sectorSize,
      sizeSectors: info.sizeSectors,
      readOnly: !info.readWrite,
      ...(nbd === undefined ? {} : {
        nbd: {
          exportName: nbd.exportName,
          exportSizeBytes: nbd.sizeBytes,
          minimumBlock: nbd.minimumBlock,
          preferredBlock: nbd.preferredBlock,
          maximumBlock: nbd.maximumBlock,
          flags: transmissionFlagNames(nbd.transmissionFlags),
          structuredReplies: nbd.structuredReplies,
          baseAllocation: nbd.baseAllocation,
          handshake: nbd.exportNameFallback ? "NBD_OPT_EXPORT_NAME" as const : "NBD_OPT_GO" as const
        }
      })
    }
  })

/**
 * The report as `key: value` lines.
 *
 * @since 0.1.0
 */
export const formatReport = (r: InfoReport): string => {
  const lines = [
    `target: ${r.target}`,
    `kind: ${r.kind}`,
    `size: ${r.sizeBytes} (${formatSize(r.sizeBytes)})`,
    `sector-size: ${r.sectorSize}`,
    `sectors: ${r.sizeSectors}`,
    `read-only: ${r.readOnly}`
  ]
  if (r.nbd !== undefined) {
    const n = r.nbd
    lines.push(
      `export-name: ${JSON.stringify(n.exportName)}`,
      `export-size: ${n.exportSizeBytes}`,
      `block-size: minimum ${n.minimumBlock}, preferred ${n.preferredBlock}, maximum ${n.maximumBlock}`,
      `flags: ${n.flags.join(", ") || "none"}`,
      `structured-replies: ${n.structuredReplies}`,
      `base:allocation: ${n.baseAllocation}`,
      `handshake: ${n.handshake}`
    )
  }
  return lines.join("\n")
}

const flags = {
  target: Argument.String("target").pipe(Argument.withDescription("a file path or an NBD URI (nbd://host[:port]/export, nbd+unix:///export?socket=PATH)")),
  json: describedFlag(Flag.Boolean("json").pipe(Flag.withDefault(false)), "print one JSON object instead of lines")
}

/**
 * The `info` subcommand.
 *
 * @since 0.1.0
 */
export const info = Command.make("info", flags, ({ json, target }) =>
  Effect.gen(function*() {
    const opened = yield* openTarget(target, { readOnly: true })
    const r = yield* report(opened)
    yield* Console.log(json ? JSON.stringify(r, null, 2) : formatReport(r))
  }).pipe(
    Effect.scoped,
    Effect.catchTag("TargetError", (error) => Effect.fail(new CommandLineError({ message: error.message })))
  )).pipe(Command.withDescription("Show a disk's size and geometry, and for an NBD export what the server offers."))
