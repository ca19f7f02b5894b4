/**
 * The subcommands that use disks as a client — `info`, `map`, `copy`,
 * `compare` — in the order `--help` lists them, for the root command.
 *
 * @since 0.1.0
 */
import { compare } from "./Compare.js"
import { copy } from "./Copy.js"
import { info } from "./Info.js"
import { map } from "./Map.js"

/**
 * `info`, `map`, `copy` and `compare`.
 *
 * @since 0.1.0
 */
export const clientCommands = [info, map, copy, compare] as const
