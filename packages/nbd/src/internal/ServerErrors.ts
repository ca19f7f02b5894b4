/**
 * How the server turns a device's typed errors into the protocol's error
 * numbers (docs/nbd.md, "Error mapping"). The client maps them back.
 */
import * as P from "./Protocol.js"

/** The error number for a failure of a device operation. */
export const errnoOf = (error: unknown): number => {
  const tag = typeof error === "object" && error !== null && "_tag" in error ? error._tag : undefined
  switch (tag) {
    case "InvalidRequest":
      return P.EINVAL
    case "IsReadOnly":
      return P.EPERM
    case "IOError":
      return P.EIO
    case "Unimplemented":
      return P.ENOTSUP
    case "Disconnected":
      return P.ESHUTDOWN
    default:
      return P.EIO
  }
}

/** A one-line message for an error chunk: the error's own, when it has one. */
export const messageOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return error.message.length > 4096 ? error.message.slice(0, 4096) : error.message
  }
  return "internal error"
}
