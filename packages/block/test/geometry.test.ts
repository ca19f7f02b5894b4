/**
 * Geometry rules (shared/SPEC.md, "Geometry and addresses").
 */
import { Info, maxSectorSize } from "@effect-block/block"
import { checkGeometry } from "@effect-block/block/Implementer"
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"

const PowerOfTwo = Schema.Literals([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536])

describe("checkGeometry", () => {
  it.prop("accepts every power-of-two sector size from 1 to 65536", [PowerOfTwo], ([sectorSize]) => {
    expect(checkGeometry("connect", { sectorSize, sizeSectors: 8 })).toBeUndefined()
  })

  it.prop(
    "refuses sector sizes that are not powers of two, naming the value and the limit",
    [Schema.Int.check(Schema.isBetween({ minimum: -10, maximum: 200000 })).check(
      Schema.makeFilter((n: number) => n < 1 || n > maxSectorSize || (n & (n - 1)) !== 0)
    )],
    ([sectorSize]) => {
      const error = checkGeometry("connect", { sectorSize, sizeSectors: 8 })
      expect(error?._tag).toBe("InvalidRequest")
      expect(error?.message).toBe(`connect: sectorSize ${sectorSize} is not a power of two from 1 to 65536`)
    }
  )

  it("refuses a byte size above Number.MAX_SAFE_INTEGER, naming the largest allowed sector count", () => {
    const limit = Math.floor(Number.MAX_SAFE_INTEGER / 512)
    expect(checkGeometry("connect", { sectorSize: 512, sizeSectors: limit })).toBeUndefined()
    expect(checkGeometry("connect", { sectorSize: 512, sizeSectors: limit + 1 })?.message).toContain(
      `at most ${limit} sectors`
    )
  })

  it("accepts a zero-sector device", () => {
    expect(checkGeometry("connect", { sectorSize: 512, sizeSectors: 0 })).toBeUndefined()
  })
})

describe("Info", () => {
  it("is a Schema struct of readWrite, sectorSize and sizeSectors", () => {
    const info = Schema.decodeUnknownSync(Info)({ readWrite: true, sectorSize: 512, sizeSectors: 8 })
    expect(info).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 8 })
    expect(() => Schema.decodeUnknownSync(Info)({ readWrite: true, sectorSize: 1.5, sizeSectors: 8 })).toThrow()
  })
})
