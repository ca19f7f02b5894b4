/**
 * How the crash simulator keeps durable images and puts a device back into
 * one. Two strategies behind one interface:
 *
 * - `snapshot`: the wrapped device is a ramdisk. A durable image is a
 *   ramdisk snapshot (O(1)); resetting is `restore` (O(1)) plus replaying the
 *   chosen writes.
 * - `journal`: any other device. The simulator keeps a persistent map of
 *   every sector it has written (O(1) to capture at a barrier) and the
 *   contents each sector had before the simulator first wrote it; resetting
 *   writes back every sector that differs, so it costs time proportional to
 *   the sectors written since the layer was built.
 */
import type { BlockDeviceShape, ReadError, WriteError } from "@effect-block/block"
import type { RamdiskShape, Snapshot } from "@effect-block/ramdisk"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type { Op } from "./CrashStates.js"

/** The strategies, as reported by `CrashSimulator.backend`. */
export type BackendKind = "snapshot" | "journal"

/** A durable-image strategy; `B` is its image type. */
export interface Backend<B> {
  readonly kind: BackendKind
  /** The device's current contents as an image. */
  readonly capture: Effect.Effect<B, WriteError>
  /** Called before a write-type op reaches the device, with the range it will change. */
  readonly beforeChange: (sectorStart: number, sectors: number) => Effect.Effect<void, ReadError>
  /** Called after a write-type op changed the device (`data` undefined: zeros). */
  readonly afterChange: (sectorStart: number, sectors: number, data: Uint8Array | undefined) => void
  /** Called after the device's size changed. */
  readonly afterResize: (sizeSectors: number) => void
  /** The contents of `runs` (sorted `[start, count]`) in `image`, one buffer per run. */
  readonly readImage: (
    image: B,
    runs: ReadonlyArray<readonly [number, number]>
  ) => Effect.Effect<Array<Uint8Array>, WriteError>
  /** Makes the device hold `image` with `pieces` applied in order; returns that as an image. */
  readonly reset: (image: B, pieces: ReadonlyArray<Op>) => Effect.Effect<B, WriteError>
}

const applyPieces = (device: BlockDeviceShape, pieces: ReadonlyArray<Op>): Effect.Effect<void, WriteError> =>
  Effect.forEach(pieces, (piece) =>
    piece.data === undefined ? device.discard(piece.sectorStart, piece.sectors) : device.write(piece.sectorStart, piece.data), {
    discard: true
  })

const readRuns = (
  device: BlockDeviceShape,
  sectorSize: number,
  runs: ReadonlyArray<readonly [number, number]>
): Effect.Effect<Array<Uint8Array>, ReadError> =>
  Effect.forEach(runs, ([start, count]) => {
    const buffer = new Uint8Array(count * sectorSize)
    return Effect.as(device.read(start, buffer), buffer)
  })

/** The snapshot strategy over a ramdisk handle (the same handle the simulator wraps). */
export const snapshotBackend = (ramdisk: RamdiskShape, sectorSize: number): Backend<Snapshot> => ({
  kind: "snapshot",
  capture: ramdisk.snapshot,
  beforeChange: () => Effect.void,
  afterChange: () => undefined,
  afterResize: () => undefined,
  readImage: (image, runs) =>
    Effect.flatMap(ramdisk.snapshot, (now) =>
      Effect.andThen(ramdisk.restore(image), readRuns(ramdisk, sectorSize, runs)).pipe(
        // Put the live contents back whether or not the read worked.
        Effect.ensuring(Effect.ignore(ramdisk.restore(now)))
      )),
  reset: (image, pieces) =>
    Effect.andThen(
      Effect.andThen(ramdisk.restore(image), applyPieces(ramdisk, pieces)),
      ramdisk.snapshot
    )
})

/**
 * A journal image: the device size and every sector the simulator has
 * changed, plus where it came from. Images form a tree (each barrier or
 * crash adds a child), and each records the sectors that differ from its
 * parent, so two images are compared over the sectors changed on the path
 * between them rather than over everything ever written.
 */
export interface Image {
  readonly sizeSectors: number
  readonly sectors: HashMap.HashMap<number, Uint8Array>
  readonly parent: Image | undefined
  readonly changed: ReadonlyArray<number>
  readonly depth: number
}

/** The journal strategy, for any device. */
export const journalBackend = (device: BlockDeviceShape, sectorSize: number, sizeSectors: number): Backend<Image> => {
  const zero = new Uint8Array(sectorSize)
  /** Contents of each sector before the simulator first changed it. */
  const original = new Map<number, Uint8Array>()
  /** The last image captured or crashed into, and what changed on the device since. */
  let anchor: Image = { sizeSectors, sectors: HashMap.empty(), parent: undefined, changed: [], depth: 0 }
  let liveSectors = anchor.sectors
  let liveSize = sizeSectors
  let sinceAnchor = new Set<number>()

  const contentIn = (size: number, sectors: HashMap.HashMap<number, Uint8Array>, sector: number): Uint8Array =>
    sector >= size ? zero : Option.getOrUndefined(HashMap.get(sectors, sector)) ?? original.get(sector) ?? zero

  const sectorsOf = (sectors: number, data: Uint8Array | undefined) =>
    Array.from({ length: sectors }, (_, i) => data === undefined ? zero : data.subarray(i * sectorSize, (i + 1) * sectorSize))

  const setAll = (
    map: HashMap.HashMap<number, Uint8Array>,
    sectorStart: number,
    contents: ReadonlyArray<Uint8Array>
  ): HashMap.HashMap<number, Uint8Array> =>
    HashMap.mutate(map, (mutable) => {
      contents.forEach((bytes, i) => HashMap.set(mutable, sectorStart + i, bytes))
    })

  /** Sectors that may differ between the live device and `image`: changes on the tree path between them. */
  const candidates = (image: Image): Set<number> => {
    const found = new Set(sinceAnchor)
    let a: Image | undefined = anchor
    let b: Image | undefined = image
    while (a !== b && a !== undefined && b !== undefined) {
      if (a.depth >= b.depth) {
        for (const s of a.changed) found.add(s)
        a = a.parent
      } else {
        for (const s of b.changed) found.add(s)
        b = b.parent
      }
    }
    return found
  }

  return {
    kind: "journal",
    capture: Effect.sync(() => {
      if (sinceAnchor.size > 0 || liveSize !== anchor.sizeSectors) {
        anchor = { sizeSectors: liveSize, sectors: liveSectors, parent: anchor, changed: [...sinceAnchor], depth: anchor.depth + 1 }
        sinceAnchor = new Set()
      }
      return anchor
    }),
    beforeChange: (sectorStart, sectors) =>
      Effect.suspend(() => {
        let missing = false
        for (let i = 0; i < sectors && !missing; i++) missing = !original.has(sectorStart + i)
        if (!missing) return Effect.void
        const buffer = new Uint8Array(sectors * sectorSize)
        return Effect.map(device.read(sectorStart, buffer), () => {
          for (let i = 0; i < sectors; i++) {
            if (!original.has(sectorStart + i)) original.set(sectorStart + i, buffer.subarray(i * sectorSize, (i + 1) * sectorSize))
          }
        })
      }),
    afterChange: (sectorStart, sectors, data) => {
      liveSectors = setAll(liveSectors, sectorStart, sectorsOf(sectors, data))
      for (let i = 0; i < sectors; i++) sinceAnchor.add(sectorStart + i)
    },
    afterResize: (newSize) => {
      // Sectors dropped by a shrink read as zeros if the device grows again.
      const dropped = [...HashMap.keys(liveSectors), ...original.keys()].filter((s) => s >= newSize)
      liveSectors = HashMap.mutate(liveSectors, (map) => {
        for (const s of dropped) HashMap.set(map, s, zero)
      })
      for (const s of dropped) sinceAnchor.add(s)
      liveSize = newSize
    },
    readImage: (image, runs) =>
      Effect.sync(() =>
        runs.map(([start, count]) => {
          const buffer = new Uint8Array(count * sectorSize)
          for (let i = 0; i < count; i++) buffer.set(contentIn(image.sizeSectors, image.sectors, start + i), i * sectorSize)
          return buffer
        })
      ),
    reset: (image, pieces) =>
      Effect.suspend(() => {
        let targetSectors = image.sectors
        const changed = new Set<number>()
        for (const piece of pieces) {
          targetSectors = setAll(targetSectors, piece.sectorStart, sectorsOf(piece.sectors, piece.data))
          for (let i = 0; i < piece.sectors; i++) changed.add(piece.sectorStart + i)
        }
        const targetSize = image.sizeSectors
        const fromSize = liveSize
        const fromSectors = liveSectors
        // A size change can expose sectors no path records: compare everything known then.
        const maybe = targetSize === fromSize ?
          new Set([...candidates(image), ...changed]) :
          new Set([...HashMap.keys(fromSectors), ...HashMap.keys(targetSectors), ...original.keys()])
        const differing = [...maybe].filter((s) => s < targetSize).sort((a, b) => a - b).filter((s) => {
          const want = contentIn(targetSize, targetSectors, s)
          const have = contentIn(fromSize, fromSectors, s)
          if (want === have) return false
          for (let i = 0; i < sectorSize; i++) if (want[i] !== have[i]) return true
          return false
        })
        // Consecutive sectors go out as one multi-buffer write.
        const runs: Array<{ start: number; buffers: Array<Uint8Array> }> = []
        for (const s of differing) {
          const last = runs[runs.length - 1]
          const bytes = contentIn(targetSize, targetSectors, s)
          if (last !== undefined && last.start + last.buffers.length === s) last.buffers.push(bytes)
          else runs.push({ start: s, buffers: [bytes] })
        }
        const resize = targetSize === fromSize ? Effect.void : device.resize(targetSize)
        return Effect.andThen(
          resize,
          Effect.forEach(runs, (run) => device.write(run.start, run.buffers), { discard: true })
        ).pipe(Effect.map(() => {
          anchor = { sizeSectors: targetSize, sectors: targetSectors, parent: image, changed: [...changed], depth: image.depth + 1 }
          liveSectors = targetSectors
          liveSize = targetSize
          sinceAnchor = new Set()
          return anchor
        }))
      })
  }
}
