/**
 * `@effect-block/sqlite`: SQLite (compiled to WebAssembly) whose files live
 * on block devices, for running and crash-testing real storage software on
 * the ramdisk and the crash simulator.
 *
 * @since 0.1.0
 */
export { SqliteError, SynchronousDeviceRequired } from "./Errors.js"
export {
  type Database,
  type OpenError,
  OpenOptions,
  type Row,
  Sqlite,
  SqliteLive,
  type SqliteShape,
  type SqlValue,
  type Storage
} from "./Sqlite.js"
export { makeSqlClient, SqlClientLive } from "./SqlClient.js"
export {
  type Allowance,
  allowanceOf,
  checkRecovery,
  type Configuration,
  CorruptDatabase,
  judge,
  LostCommits,
  nameOf,
  type Outcome,
  recover,
  type Recovery,
  runWorkload,
  type Workload
} from "./CrashWorkload.js"
