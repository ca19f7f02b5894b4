/**
 * Loading the SQLite WebAssembly module (the synchronous build of
 * `@effect/wa-sqlite`) in plain Node: the WebAssembly bytes are read from
 * the package and handed to the Emscripten factory, which otherwise would
 * try to fetch them as a browser does.
 */
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import * as SQLite from "@effect/wa-sqlite"
import ModuleFactory from "@effect/wa-sqlite/dist/wa-sqlite.mjs"
import * as Effect from "effect/Effect"
import { SqliteError } from "../Errors.js"
import type { WasmModule } from "./BlockVfs.js"

/** The JavaScript API of the module. */
export type SqliteApi = SQLiteAPI

const loadError = (cause: unknown) =>
  new SqliteError({
    operation: "load",
    code: SQLite.SQLITE_ERROR,
    message: `load: the SQLite WebAssembly module could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

/** Reads, compiles and instantiates a fresh module. */
export const loadModule: Effect.Effect<{ readonly module: WasmModule; readonly sqlite3: SqliteApi }, SqliteError> = Effect
  .tryPromise({
    try: async () => {
      const path = createRequire(import.meta.url).resolve("@effect/wa-sqlite/dist/wa-sqlite.wasm")
      const wasmBinary = await readFile(path)
      const module: WasmModule = await ModuleFactory({ wasmBinary })
      return { module, sqlite3: SQLite.Factory(module) }
    },
    catch: loadError
  })
