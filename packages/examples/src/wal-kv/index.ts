/**
 * The write-ahead-logged key-value store of the crash-testing guide, and the
 * crash exploration that tests it.
 *
 * @since 0.1.0
 */
export * from "./CrashCheck.js"
export * from "./Store.js"
