/**
 * Runnable examples of effect-block. Each module is a small program; the
 * tests in this package run them.
 *
 * @since 0.1.0
 */
export { program, QuickstartLive } from "./quickstart.js"
export * as WalKv from "./wal-kv/index.js"
export * as Swap from "./swap.js"
export * as TwoDevices from "./two-devices.js"
