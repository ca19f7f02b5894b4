/**
 * Hostile values, for testing that an API answers bad input with a typed
 * error instead of a throw, a defect or a hang (docs/semantics.md, "Bad
 * input"). Each family is data — a name and a function building a fresh
 * value — so a test can loop over all of them or draw one with
 * `HostileIndex` (a failing property seed then names the family).
 *
 * The families: Proxies (plain, with throwing traps, revoked), objects whose
 * getters throw, lie or change between reads, fakes made from
 * `Uint8Array.prototype`, `Uint8Array` subclasses and instances whose
 * getters throw or lie, detached and shared buffers, other typed arrays,
 * number-likes whose conversion throws, and plain wrong types.
 *
 * @since 0.1.0
 */
import * as Arbitrary from "effect/Arbitrary"
import * as Schema from "effect/Schema"

/** One hostile family: its name and a function building a fresh value of it. */
export type HostileFamily = readonly [name: string, make: () => unknown]

const thrower = (): never => {
  throw new Error("hostile getter")
}

/**
 * The property names whose getters throw in `throwingGetters()`: what
 * block-device code, option decoders and command parsers commonly read.
 */
export const hostilePropertyNames: ReadonlyArray<string> = [
  "byteLength", "length", "byteOffset", "buffer", "name", "path", "sizeSectors", "sectorSize", "readOnly",
  "seed", "runs", "steps", "sectors", "snapshots", "disconnect", "resize", "discard", "seek", "maxShrinks",
  "controls", "connect", "connectReadOnly", "destroy", "beneath", "enabled", "readErrorRate", "writeErrorRate",
  "flushErrorRate", "readCorruptionRate", "misdirectedWriteRate", "badSectors", "latency", "operation", "rule",
  "run", "_tag", "sectorStart", "fill", "from", "snapshot", "info", "read", "write", "buffers", "then"
]

/** A Proxy of `target` (default `{}`) whose every trap throws. */
export const throwingProxy = (target: object = {}): object =>
  new Proxy(target, {
    get: thrower,
    set: thrower,
    has: thrower,
    ownKeys: thrower,
    getPrototypeOf: thrower,
    getOwnPropertyDescriptor: thrower,
    defineProperty: thrower,
    deleteProperty: thrower,
    apply: thrower
  })

/** A revoked Proxy: touching it in any way throws. */
export const revokedProxy = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

/** An object whose getters for `names` (default `hostilePropertyNames`) all throw; enumerable, so decoders see them. */
export const throwingGetters = (names: ReadonlyArray<string> = hostilePropertyNames): object =>
  Object.defineProperties({}, Object.fromEntries(names.map((name) => [name, { get: thrower, enumerable: true }])))

/** A real `Uint8Array` of `bytes` bytes whose own `byteLength` and `length` properties lie (far larger). */
export const shadowedUint8Array = (bytes: number): Uint8Array =>
  Object.defineProperties(new Uint8Array(bytes), {
    byteLength: { get: () => bytes + 8192 },
    length: { get: () => 1 << 30 }
  })

/** A `Uint8Array` of `bytes` bytes whose buffer was transferred away (detached). */
export const detachedUint8Array = (bytes: number): Uint8Array => {
  const buffer = new Uint8Array(bytes)
  structuredClone(buffer.buffer, { transfer: [buffer.buffer] })
  return buffer
}

/** A `Uint8Array` subclass whose getters throw. */
class ThrowingUint8Array extends Uint8Array {
  override get byteLength(): number {
    return thrower()
  }
  override get length(): number {
    return thrower()
  }
  override get byteOffset(): number {
    return thrower()
  }
  override get buffer(): ArrayBuffer {
    return thrower()
  }
}

/** A `Uint8Array` subclass whose getters lie (more than twice the real length, a wrong offset). */
class LyingUint8Array extends Uint8Array {
  override get byteLength(): number {
    return super.byteLength * 2 + 512
  }
  override get length(): number {
    return super.length * 2 + 512
  }
  override get byteOffset(): number {
    return 1 << 30
  }
}

/** A `Uint8Array` subclass that claims 1 GiB and throws on `length`. */
class HalfLyingUint8Array extends Uint8Array {
  override get byteLength(): number {
    return 1 << 30
  }
  override get length(): number {
    return thrower()
  }
}

/** A number-like object: `valueOf`, `toString` and `Symbol.toPrimitive` answer 1, or throw. */
const numberLike = (throws: boolean): object => ({
  valueOf: throws ? thrower : () => 1,
  toString: throws ? thrower : () => "1",
  [Symbol.toPrimitive]: throws ? thrower : () => 1
})

/** An object whose getters throw an Error whose message cannot be turned into a string. */
const unprintableThrower = (): object => {
  const unprintable = (): never => {
    const error = new Error("hostile")
    Object.defineProperty(error, "message", { value: { toString: thrower } })
    throw error
  }
  return Object.defineProperties({}, {
    name: { get: unprintable, enumerable: true },
    path: { get: unprintable, enumerable: true },
    sizeSectors: { get: unprintable, enumerable: true }
  })
}

/** An object whose `name` and `path` are plausible on the first read and empty on every later one. */
const changingFields = (): object => {
  const field = (first: string) => {
    let reads = 0
    return { enumerable: true, get: () => (reads++ === 0 ? first : "") }
  }
  return Object.defineProperties({}, { name: field("disk"), path: field("disk.img") })
}

/**
 * Every hostile family, by name, each built fresh by its function (512 bytes
 * where a size applies). Pass each wherever your API takes a value and
 * require a success or a typed failure.
 */
export const hostileValues: ReadonlyArray<HostileFamily> = [
  ["a Proxy of {}", () => new Proxy({}, {})],
  ["a revoked Proxy", revokedProxy],
  ["a Proxy whose traps throw", () => throwingProxy()],
  ["a Proxy of a Uint8Array", () => new Proxy(new Uint8Array(512), {})],
  ["a Proxy of a Uint8Array whose traps throw", () => throwingProxy(new Uint8Array(512))],
  ["an object whose getters throw", () => throwingGetters()],
  ["an object whose getters throw an Error with an unprintable message", unprintableThrower],
  ["an object whose name and path change between reads", changingFields],
  ["Object.create(Uint8Array.prototype)", () => Object.create(Uint8Array.prototype)],
  ["a Uint8Array subclass whose getters throw", () => new ThrowingUint8Array(512)],
  ["a Uint8Array subclass whose getters lie", () => new LyingUint8Array(512)],
  ["a Uint8Array subclass claiming 1 GiB whose length throws", () => new HalfLyingUint8Array(512)],
  ["a Uint8Array whose own byteLength lies", () => shadowedUint8Array(512)],
  ["a detached Uint8Array", () => detachedUint8Array(512)],
  ["a Uint8Array over a SharedArrayBuffer", () => new Uint8Array(new SharedArrayBuffer(512))],
  ["an Int16Array", () => new Int16Array(256)],
  ["a DataView", () => new DataView(new ArrayBuffer(512))],
  ["an ArrayBuffer", () => new ArrayBuffer(512)],
  ["a number-like object", () => numberLike(false)],
  ["a number-like object that throws", () => numberLike(true)],
  ["a string", () => "x".repeat(512)],
  ["a numeric string", () => "512"],
  ["an empty string", () => ""],
  ["NaN", () => Number.NaN],
  ["-1", () => -1],
  ["1.5", () => 1.5],
  ["2^53", () => 2 ** 53],
  ["Infinity", () => Number.POSITIVE_INFINITY],
  ["null", () => null],
  ["undefined", () => undefined],
  ["true", () => true],
  ["a symbol", () => Symbol("hostile")],
  ["a bigint", () => 512n],
  ["a function", () => () => 512],
  ["an array holding a revoked Proxy", () => [new Uint8Array(512), revokedProxy()]],
  ["an array holding a revoked Proxy and null", () => [revokedProxy(), null]],
  ["an array whose element getter throws", () => Object.defineProperty([new Uint8Array(512)], 0, { get: thrower })],
  ["an array holding an object whose getters throw", () => [{ _tag: "Flush" }, throwingGetters()]],
  ["a Proxy of an array whose traps throw", () => throwingProxy([new Uint8Array(512)])],
  [
    "a Proxy of an array claiming 2^32-1 elements",
    () => new Proxy([], { get: (_target, key) => (key === "length" ? 2 ** 32 - 1 : new Uint8Array(0)) })
  ],
  ["an array of Int16Arrays", () => [new Int16Array(256)]]
]

/**
 * The index of one family in `hostileValues`, as a Schema (an integer in
 * range). Give it to a property test (`it.prop`, `it.effect.prop`) and build
 * the value with `hostileValues[index][1]()`: a failing seed names the family.
 */
export const HostileIndex = Schema.Int.check(
  Schema.isBetween({ minimum: 0, maximum: hostileValues.length - 1 })
)

/** An Arbitrary drawing one hostile family (shrinking toward the first); call its `make` for a fresh value. */
export const hostileFamily: Arbitrary.Arbitrary<HostileFamily> = Arbitrary.schema(HostileIndex).pipe(
  Arbitrary.map((index) => hostileValues[index]!)
)
