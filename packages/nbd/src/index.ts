/**
 * `@effect-block/nbd`: block devices over the Network Block Device protocol,
 * both ways: serve any `BlockDevice` to real NBD clients, and use any NBD
 * export as a `BlockDevice`.
 *
 * @since 0.1.0
 */
export {
  BlockDeviceValue,
  make as makeServer,
  NbdExport,
  NbdServer,
  NbdServerError,
  NbdServerLive,
  NbdServerOptions,
  type NbdServerShape,
  RegistryValue
} from "./Server.js"
export {
  make as makeClient,
  NbdClientLive,
  type NbdClientDevice,
  NbdClientOptions,
  type NbdExportInfo,
  transmissionFlagNames
} from "./Client.js"
export {
  type NbdClientError,
  NbdConnectError,
  NbdOptionError,
  NbdProtocolError,
  NbdRequestError,
  NbdUriError
} from "./ClientErrors.js"
