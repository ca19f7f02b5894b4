/**
 * The NBD protocol's numbers (the NBD project's `doc/proto.md`), shared by
 * the server and the client. Names follow the document with the `NBD_`
 * prefix dropped, so each can be looked up there.
 */

/** "NBDMAGIC": the first eight bytes a server sends. */
export const NBDMAGIC = 0x4e42444d41474943n
/** "IHAVEOPT": newstyle negotiation magic, and the prefix of every option request. */
export const IHAVEOPT = 0x49484156454f5054n
/** Prefix of every option reply. */
export const OPTION_REPLY_MAGIC = 0x0003e889045565a9n

/** Handshake flags (server → client, 16 bits). */
export const FLAG_FIXED_NEWSTYLE = 1 << 0
export const FLAG_NO_ZEROES = 1 << 1
/** Client flags (client → server, 32 bits). */
export const FLAG_C_FIXED_NEWSTYLE = 1 << 0
export const FLAG_C_NO_ZEROES = 1 << 1

/** Option types. */
export const OPT_EXPORT_NAME = 1
export const OPT_ABORT = 2
export const OPT_LIST = 3
export const OPT_STARTTLS = 5
export const OPT_INFO = 6
export const OPT_GO = 7
export const OPT_STRUCTURED_REPLY = 8
export const OPT_LIST_META_CONTEXT = 9
export const OPT_SET_META_CONTEXT = 10
export const OPT_EXTENDED_HEADERS = 11

/** Option reply types. */
export const REP_ACK = 1
export const REP_SERVER = 2
export const REP_INFO = 3
export const REP_META_CONTEXT = 4
const REP_ERR = 0x80000000
export const REP_ERR_UNSUP = REP_ERR + 1
export const REP_ERR_POLICY = REP_ERR + 2
export const REP_ERR_INVALID = REP_ERR + 3
export const REP_ERR_PLATFORM = REP_ERR + 4
export const REP_ERR_TLS_REQD = REP_ERR + 5
export const REP_ERR_UNKNOWN = REP_ERR + 6
export const REP_ERR_SHUTDOWN = REP_ERR + 7
export const REP_ERR_BLOCK_SIZE_REQD = REP_ERR + 8
export const REP_ERR_TOO_BIG = REP_ERR + 9
export const REP_ERR_EXT_HEADER_REQD = REP_ERR + 10
/** Whether an option reply type is an error. */
export const isReplyError = (type: number): boolean => type >= REP_ERR

/** `NBD_INFO_*` items of `OPT_INFO` / `OPT_GO`. */
export const INFO_EXPORT = 0
export const INFO_NAME = 1
export const INFO_DESCRIPTION = 2
export const INFO_BLOCK_SIZE = 3

/** Transmission flags (16 bits). */
export const FLAG_HAS_FLAGS = 1 << 0
export const FLAG_READ_ONLY = 1 << 1
export const FLAG_SEND_FLUSH = 1 << 2
export const FLAG_SEND_FUA = 1 << 3
export const FLAG_ROTATIONAL = 1 << 4
export const FLAG_SEND_TRIM = 1 << 5
export const FLAG_SEND_WRITE_ZEROES = 1 << 6
export const FLAG_SEND_DF = 1 << 7
export const FLAG_CAN_MULTI_CONN = 1 << 8
export const FLAG_SEND_RESIZE = 1 << 9
export const FLAG_SEND_CACHE = 1 << 10
export const FLAG_SEND_FAST_ZERO = 1 << 11

/** Transmission-phase magics. */
export const REQUEST_MAGIC = 0x25609513
export const SIMPLE_REPLY_MAGIC = 0x67446698
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef

/** Commands. */
export const CMD_READ = 0
export const CMD_WRITE = 1
export const CMD_DISC = 2
export const CMD_FLUSH = 3
export const CMD_TRIM = 4
export const CMD_CACHE = 5
export const CMD_WRITE_ZEROES = 6
export const CMD_BLOCK_STATUS = 7
export const CMD_RESIZE = 8

/** Command flags (16 bits). */
export const CMD_FLAG_FUA = 1 << 0
export const CMD_FLAG_NO_HOLE = 1 << 1
export const CMD_FLAG_DF = 1 << 2
export const CMD_FLAG_REQ_ONE = 1 << 3
export const CMD_FLAG_FAST_ZERO = 1 << 4

/** Structured reply flags and chunk types. */
export const REPLY_FLAG_DONE = 1 << 0
export const REPLY_TYPE_NONE = 0
export const REPLY_TYPE_OFFSET_DATA = 1
export const REPLY_TYPE_OFFSET_HOLE = 2
export const REPLY_TYPE_BLOCK_STATUS = 5
export const REPLY_TYPE_ERROR = (1 << 15) + 1
export const REPLY_TYPE_ERROR_OFFSET = (1 << 15) + 2
/** Whether a structured reply chunk type is an error. */
export const isChunkError = (type: number): boolean => (type & (1 << 15)) !== 0

/** The `base:allocation` meta context and its extent flags. */
export const BASE_ALLOCATION = "base:allocation"
export const STATE_HOLE = 1 << 0
export const STATE_ZERO = 1 << 1

/** Error values on the wire (Linux errno numbers, as the protocol fixes them). */
export const EPERM = 1
export const EIO = 5
export const ENOMEM = 12
export const EINVAL = 22
export const ENOSPC = 28
export const EOVERFLOW = 75
export const ENOTSUP = 95
export const ESHUTDOWN = 108

/** Limits both sides keep unless the peer says otherwise. */
export const DEFAULT_MAX_PAYLOAD = 32 * 1024 * 1024
/** Longest export name, description or option payload either side accepts. */
export const MAX_OPTION_LENGTH = 64 * 1024
