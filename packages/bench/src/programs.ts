/**
 * The outside programs the NBD benchmarks drive (qemu-img, fio, nbdcopy,
 * nbdkit, our own `effect-block` command): one way to run them and one way
 * to say which is missing, shared by the server and client suites.
 */
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"

/** The built `effect-block` command. */
export const cli = new URL("../../cli/bin/effect-block.js", import.meta.url).pathname

/** Runs `program` to completion and yields its stdout; interrupting it kills the program. */
export const runProgram = (program: string, args: ReadonlyArray<string>): Effect.Effect<string, Error> =>
  Effect.callback<string, Error>((resume) => {
    const child = ChildProcess.execFile(program, [...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) resume(Effect.fail(new Error(`${program} ${args.join(" ")}: ${error.message}\n${stderr}`)))
      else resume(Effect.succeed(stdout))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Fails naming `program` and the Debian packages that provide it when it is not installed. */
export const requireProgram = (suite: string, packages: string) => (program: string): Effect.Effect<void, Error> =>
  ChildProcess.spawnSync("sh", ["-c", `command -v ${program}`]).status === 0 ?
    Effect.void :
    Effect.fail(new Error(`the ${suite} benchmark needs ${program} (Debian: ${packages})`))
