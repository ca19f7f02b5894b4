/**
 * Runs an example program when its file is executed directly with node
 * (`node packages/examples/dist/combinators/copy.js`), and does nothing when
 * the file is imported (by the tests).
 */
import * as Effect from "effect/Effect"
import { pathToFileURL } from "node:url"

/** Runs `program` if `moduleUrl` is the script node was started with. */
export const runMain = <A, E>(moduleUrl: string, program: Effect.Effect<A, E>): void => {
  if (process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href) {
    Effect.runPromise(program).catch((error: unknown) => {
      process.exitCode = 1
      process.stderr.write(`example failed: ${String(error)}\n`)
    })
  }
}
