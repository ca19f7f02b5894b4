/**
 * `@effect-block/cli`: the `effect-block` command's subcommands and helpers,
 * for reuse by other subcommand modules. The command itself is `bin/effect-block.js`.
 *
 * @since 0.1.0
 */
export { CommandLineError, describedFlag, flagError } from "./Errors.js"
export { serve } from "./Serve.js"
export { formatSize, parseSize } from "./Size.js"
