/**
 * `@effect-block/testing`: prove a block device keeps the contract, and prove
 * storage code survives crashes and media faults. Plain Effect code: nothing
 * here loads vitest. The vitest registrations of the conformance suite and
 * the model test are in `@effect-block/testing/vitest`.
 *
 * @since 0.1.0
 */
export * from "./Conformance.js"
export * from "./CrashExplore.js"
export * from "./CrashSimulator.js"
export * from "./CrashState.js"
export * from "./FaultInjector.js"
export * from "./ModelTest.js"
export * from "./SyncDriver.js"
export * from "./FaultInjectorOptions.js"
export * from "./FaultRecord.js"
export * from "./Hostile.js"
