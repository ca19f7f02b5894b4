/**
 * Reading the operating system's errors that `node:fs` rejects with: their
 * code (`ENOENT`, `EBADF`, ...) and a message, without ever throwing.
 *
 * @internal
 */
import { describeValue } from "@effect-block/block/Implementer"

/** The `code` of a Node system error, if it has one. @internal */
export const errorCode = (cause: unknown): string | undefined => {
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") {
    return cause.code
  }
  return undefined
}

/** The system call a Node system error came from (`open`, `stat`, ...), if it says. @internal */
export const systemCall = (cause: unknown): string | undefined => {
  if (typeof cause === "object" && cause !== null && "syscall" in cause && typeof cause.syscall === "string") {
    return cause.syscall
  }
  return undefined
}

/** The message of an error, or a description of whatever else was thrown. @internal */
export const causeText = (cause: unknown): string =>
  cause instanceof Error ? cause.message : describeValue(cause)
