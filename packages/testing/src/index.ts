/**
 * `@effect-block/testing`: prove a block device keeps the contract, and prove
 * storage code survives crashes and media faults.
 *
 * @since 0.1.0
 */
export * from "./Conformance.js"
export * from "./CrashSimulator.js"
export * from "./FaultInjector.js"
export * from "./ModelTest.js"
