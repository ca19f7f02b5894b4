/**
 * `@effect-block/device`: the interface every device shares.
 *
 * @since 0.1.0
 */
export { Disconnected, type Device, type FormattableError, formatError, Unimplemented } from "./Device.js"

/**
 * Connection state for device handles: `Connection.make`, `Connection.guard`.
 *
 * @since 0.1.0
 */
export * as Connection from "./Connection.js"
