/**
 * The buffers the file device gives to `node:fs` (src/internal/Transfer.ts): whatever reaches its core
 * operations, the system calls get plain `Uint8Array` views whose real lengths match the request. Node's
 * `fs` trusts `byteLength`, and a lying one aborted the process in `pwrite`; `BlockDevice.make` already
 * hands implementations plain views, so this is the file device's own line of defence, tested directly.
 */
import { InvalidRequest } from "@effect-block/block"
import { describe, expect, it } from "@effect/vitest"
import { realViews } from "../src/internal/Transfer.js"

class Liar extends Uint8Array {
  override get byteLength() {
    return 8192
  }
}

const views = (buffers: ReadonlyArray<unknown>, sectors: number) =>
  realViews("write", "file test", buffers as ReadonlyArray<Uint8Array>, sectors, 512)

describe("realViews", () => {
  it("returns plain Uint8Array views of the same memory, with their real offsets and lengths", () => {
    const backing = new Uint8Array(4096)
    const buffer = Buffer.alloc(1024)
    const result = views([backing.subarray(512, 1536), buffer], 4)
    expect(result).not.toBeInstanceOf(InvalidRequest)
    const [first, second] = result as ReadonlyArray<Uint8Array>
    expect(Object.getPrototypeOf(first)).toBe(Uint8Array.prototype)
    expect(Object.getPrototypeOf(second)).toBe(Uint8Array.prototype)
    expect([first!.buffer, first!.byteOffset, first!.byteLength]).toEqual([backing.buffer, 512, 1024])
    expect(second!.buffer).toBe(buffer.buffer)
    first![0] = 9
    expect(backing[512]).toBe(9)
  })

  it("refuses a buffer whose byteLength lies about its memory, naming its real length", () => {
    for (const liar of [new Liar(512), Object.defineProperty(new Uint8Array(512), "byteLength", { value: 8192 })]) {
      const result = views([liar], 16)
      expect(result).toBeInstanceOf(InvalidRequest)
      expect((result as InvalidRequest).message).toContain("really hold 512 bytes")
    }
  })

  it("refuses what is not a real Uint8Array: Proxies, fakes, other typed arrays, a real length not whole sectors", () => {
    const revoked = Proxy.revocable(new Uint8Array(512), {})
    revoked.revoke()
    const cases: Array<unknown> = [
      new Proxy(new Uint8Array(512), {}),
      revoked.proxy,
      Object.create(Uint8Array.prototype),
      new Int16Array(256),
      new DataView(new ArrayBuffer(512)),
      { byteLength: 512 },
      null
    ]
    for (const value of cases) {
      const result = views([value], 1)
      expect(result).toBeInstanceOf(InvalidRequest)
      expect((result as InvalidRequest).message).toContain("buffer 0 is not a real Uint8Array")
    }
    expect((views([new Uint8Array(100)], 0) as InvalidRequest).message).toContain("really has 100 bytes")
  })
})
