/**
 * The errors of opening an NBD client connection (`NbdClientLive`, `make` in
 * `Client.ts`). Once connected, the client's operations fail only with the
 * block-device errors of docs/semantics.md; a broken server shows there as
 * an `IOError` whose `cause` is an {@link NbdProtocolError} or an
 * {@link NbdRequestError}.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The URI is not one the client can use: malformed, a TLS scheme (`nbds`,
 * `nbds+unix`: TLS is not supported yet), or an unsupported transport.
 *
 * @since 0.1.0
 */
export class NbdUriError extends Schema.TaggedError<NbdUriError>()("NbdUriError", {
  uri: Schema.String,
  reason: Schema.Literals(["Malformed", "TlsUnsupported", "UnsupportedTransport"]),
  message: Schema.String
}) {}

/**
 * The server could not be reached, the connection closed during the
 * handshake, or the handshake took longer than the timeout.
 *
 * @since 0.1.0
 */
export class NbdConnectError extends Schema.TaggedError<NbdConnectError>()("NbdConnectError", {
  address: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * The server refused an option the client needs with an `NBD_REP_ERR_*`
 * reply (no such export, policy, export requires TLS, ...). `reply` is the
 * protocol's name for the error; `serverMessage` is what the server said.
 *
 * @since 0.1.0
 */
export class NbdOptionError extends Schema.TaggedError<NbdOptionError>()("NbdOptionError", {
  option: Schema.String,
  reply: Schema.String,
  serverMessage: Schema.String,
  message: Schema.String
}) {}

/**
 * The server broke the NBD protocol: a bad magic number, a reply to a request
 * never sent, a chunk outside its request, an oversized reply, impossible
 * sizes. The connection is closed. During the handshake this is the error;
 * afterwards it is the `cause` of the `IOError` each request in flight fails
 * with.
 *
 * @since 0.1.0
 */
export class NbdProtocolError extends Schema.TaggedError<NbdProtocolError>()("NbdProtocolError", {
  message: Schema.String
}) {}

/**
 * An error the server reported for one request: its errno (Linux numbering,
 * as the protocol fixes it) and, from a structured error chunk, its message.
 * It is the `cause` of the `IOError` the request failed with.
 *
 * @since 0.1.0
 */
export class NbdRequestError extends Schema.TaggedError<NbdRequestError>()("NbdRequestError", {
  errno: Schema.Number,
  name: Schema.String,
  message: Schema.String
}) {}

/**
 * Everything opening a client connection can fail with.
 *
 * @since 0.1.0
 */
export type NbdClientError = NbdUriError | NbdConnectError | NbdOptionError | NbdProtocolError
