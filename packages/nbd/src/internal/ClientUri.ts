/**
 * Parsing NBD URIs (the NBD project's `doc/uri.md`) into where to connect and
 * which export to ask for. Only the plain transports are supported:
 * `nbd://host[:port]/export` (TCP) and `nbd+unix:///export?socket=PATH`.
 * The TLS schemes are recognised so they can be refused with a clear reason.
 */

/** Where a client connects: a TCP host and port, or a Unix socket path. */
export type Address =
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }
  | { readonly _tag: "Unix"; readonly path: string }

/** A parsed NBD URI. */
export interface Target {
  readonly address: Address
  /** The export name ("" is the server's default export). */
  readonly exportName: string
}

/** Why a URI was refused. */
export type UriProblem = { readonly reason: "Malformed" | "TlsUnsupported" | "UnsupportedTransport"; readonly message: string }

/** The IANA port for NBD. */
export const defaultPort = 10809

const malformed = (uri: string, why: string): UriProblem => ({
  reason: "Malformed",
  message: `${JSON.stringify(uri)} is not an NBD URI: ${why}`
})

const decode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** Parses an NBD URI, or says what is wrong with it. Never throws. */
export const parseUri = (uri: string): Target | UriProblem => {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return malformed(uri, "it cannot be parsed as a URI (expected nbd://host[:port]/export or nbd+unix:///export?socket=PATH)")
  }
  const scheme = url.protocol.slice(0, -1)
  if (scheme === "nbds" || scheme === "nbds+unix" || scheme === "nbds+vsock") {
    return {
      reason: "TlsUnsupported",
      message: `${JSON.stringify(uri)}: TLS not supported yet (scheme ${scheme}:); use nbd:// or nbd+unix:// on a trusted network`
    }
  }
  if (scheme === "nbd+vsock") {
    return { reason: "UnsupportedTransport", message: `${JSON.stringify(uri)}: the vsock transport is not supported` }
  }
  if (scheme !== "nbd" && scheme !== "nbd+unix") {
    return malformed(uri, `unknown scheme ${JSON.stringify(scheme)} (expected nbd or nbd+unix)`)
  }
  if (url.username !== "" || url.password !== "") return malformed(uri, "user information is not allowed")
  if (url.hash !== "") return malformed(uri, "a fragment is not allowed")
  const path = url.pathname
  if (path !== "" && !path.startsWith("/")) return malformed(uri, "the export name must follow a /")
  const exportName = decode(path.slice(1))
  if (exportName === undefined) return malformed(uri, "the export name has a bad %-escape")
  if (new TextEncoder().encode(exportName).byteLength > 4096) {
    return malformed(uri, "the export name is longer than 4096 bytes")
  }
  const params = url.searchParams
  if (scheme === "nbd+unix") {
    if (url.host !== "") return malformed(uri, "nbd+unix URIs have no host (write nbd+unix:///export?socket=PATH)")
    const sockets = params.getAll("socket")
    if (sockets.length !== 1 || sockets[0] === "") {
      return malformed(uri, "nbd+unix URIs need exactly one socket=PATH query parameter")
    }
    for (const key of params.keys()) {
      if (key !== "socket") return malformed(uri, `unknown query parameter ${JSON.stringify(key)}`)
    }
    return { address: { _tag: "Unix", path: sockets[0]! }, exportName }
  }
  if (url.hostname === "") return malformed(uri, "nbd URIs need a host")
  for (const key of params.keys()) return malformed(uri, `unknown query parameter ${JSON.stringify(key)}`)
  const port = url.port === "" ? defaultPort : Number(url.port)
  if (!Number.isSafeInteger(port) || port < 1 || port > 65535) return malformed(uri, `port ${url.port} is not 1 to 65535`)
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
  return { address: { _tag: "Tcp", host, port }, exportName }
}

/** Whether a parse result is a refusal. */
export const isProblem = (value: Target | UriProblem): value is UriProblem => "reason" in value

/** The address as text for messages. */
export const describeAddress = (address: Address): string =>
  address._tag === "Unix" ? `unix:${address.path}` : `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`
