import { describe, expect, it } from "@effect/vitest"
import * as Protocol from "../src/internal/Protocol.js"

describe("Protocol", () => {
  it("magics spell what doc/proto.md says", () => {
    const ascii = (n: bigint) => Buffer.from(n.toString(16), "hex").toString("latin1")
    expect(ascii(Protocol.NBDMAGIC)).toBe("NBDMAGIC")
    expect(ascii(Protocol.IHAVEOPT)).toBe("IHAVEOPT")
  })
  it("error reply types have the high bit set", () => {
    expect(Protocol.isReplyError(Protocol.REP_ERR_UNSUP)).toBe(true)
    expect(Protocol.isReplyError(Protocol.REP_ACK)).toBe(false)
    expect(Protocol.isChunkError(Protocol.REPLY_TYPE_ERROR_OFFSET)).toBe(true)
    expect(Protocol.isChunkError(Protocol.REPLY_TYPE_OFFSET_HOLE)).toBe(false)
  })
})
