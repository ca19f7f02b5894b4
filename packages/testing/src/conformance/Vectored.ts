/**
 * The rules of `readVectored` and `writeVectored` (docs/semantics.md,
 * "Vectored requests"): every request is served as `read`/`write` would
 * serve it, in list order, and the whole list is validated before anything
 * is applied: one bad request anywhere changes nothing and touches no
 * buffer.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import {
  expectFailure,
  expectSectors,
  expectUnchanged,
  guardByte,
  isFilledWith,
  fail,
  pattern,
  prefill,
  unchecked,
  untouchedBuffer
} from "../internal/ConformanceKit.js"
import { type ConformanceRule, rule, withDevice } from "./Rule.js"

/** Bad lists, each with a good request before the bad one, and what the message must name. */
const badLists = (sectorSize: number, sizeSectors: number) => [
  { label: "a bad sectorStart in request 1", requests: [{ sectorStart: 1, buffers: new Uint8Array(sectorSize) }, { sectorStart: -1, buffers: new Uint8Array(sectorSize) }], mention: "request 1" },
  // (With 1-byte sectors no length is a partial sector.)
  ...(sectorSize === 1 ? [] : [
    { label: "a partial sector in request 1", requests: [{ sectorStart: 1, buffers: new Uint8Array(sectorSize) }, { sectorStart: 2, buffers: new Uint8Array(sectorSize + 1) }], mention: "request 1" }
  ]),
  { label: "request 1 past the end", requests: [{ sectorStart: 1, buffers: new Uint8Array(sectorSize) }, { sectorStart: sizeSectors, buffers: new Uint8Array(sectorSize) }], mention: "request 1" },
  { label: "request 1 not an object", requests: [{ sectorStart: 1, buffers: new Uint8Array(sectorSize) }, 42], mention: "request 1" },
  { label: "a list that is not an array", requests: "requests", mention: "requests" }
]

/** Every rule of the vectored operations. */
export const vectoredRules: ReadonlyArray<ConformanceRule> = [
  rule(
    "writeVectored",
    "writes every request, in list order (a later request wins where two overlap), and each reads back",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const first = pattern(21, 3, 2, sectorSize)
        const second = pattern(22, 10, 3, sectorSize)
        const overlap = pattern(23, 4, 1, sectorSize)
        yield* device.writeVectored([
          { sectorStart: 3, buffers: first },
          { sectorStart: 10, buffers: [second.subarray(0, sectorSize), second.subarray(sectorSize)] },
          { sectorStart: 4, buffers: overlap }
        ])
        yield* expectSectors("request 0's first sector", device, sectorSize, 3, first.subarray(0, sectorSize))
        yield* expectSectors("the sector two requests wrote (the later wins)", device, sectorSize, 4, overlap)
        yield* expectSectors("request 1 (two buffers)", device, sectorSize, 10, second)
        yield* device.writeVectored([])
      })
    )
  ),
  rule(
    "readVectored",
    "fills every request's buffers as read would",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const data = pattern(24, 0, 12, sectorSize)
        yield* device.write(0, data)
        const a = new Uint8Array(2 * sectorSize)
        const b = new Uint8Array(sectorSize)
        const c = new Uint8Array(3 * sectorSize)
        yield* device.readVectored([{ sectorStart: 5, buffers: a }, { sectorStart: 0, buffers: [b, c] }])
        const expected = data.subarray(5 * sectorSize, 7 * sectorSize)
        if (!a.every((byte, i) => byte === expected[i])) return yield* fail("request 0 did not read sectors 5-6")
        if (!b.every((byte, i) => byte === data[i])) return yield* fail("request 1's first buffer did not read sector 0")
        if (!c.every((byte, i) => byte === data[sectorSize + i])) {
          return yield* fail("request 1's second buffer did not read sectors 1-3")
        }
        yield* device.readVectored([])
      })
    )
  ),
  rule(
    "writeVectored",
    "validates the whole list first: a bad request anywhere fails InvalidRequest naming it, and nothing is written",
    withDevice((device, info) =>
      Effect.gen(function*() {
        const before = yield* prefill(device, info)
        for (const bad of badLists(info.sectorSize, info.sizeSectors)) {
          // The good request before the bad one would overwrite prefilled sector 1.
          yield* expectFailure(
            `writeVectored with ${bad.label}`,
            "InvalidRequest",
            device.writeVectored(unchecked(bad.requests)),
            [bad.mention]
          )
          yield* expectUnchanged(`writeVectored with ${bad.label}`, device, info.sectorSize, before)
        }
      })
    )
  ),
  rule(
    "readVectored",
    "validates the whole list first: a bad request anywhere fails InvalidRequest naming it, and no buffer is touched",
    withDevice((device, info) =>
      Effect.gen(function*() {
        yield* prefill(device, info)
        for (const bad of badLists(info.sectorSize, info.sizeSectors)) {
          const target = untouchedBuffer(info.sectorSize)
          const requests = Array.isArray(bad.requests) ?
            [{ sectorStart: 1, buffers: target }, ...bad.requests.slice(1)] :
            bad.requests
          yield* expectFailure(`readVectored with ${bad.label}`, "InvalidRequest", device.readVectored(unchecked(requests)), [
            bad.mention
          ])
          if (!isFilledWith(target, guardByte)) return yield* fail(`readVectored with ${bad.label}: a buffer was touched`)
        }
      })
    )
  )
]
