/**
 * The journal strategy of the crash simulator, for any device: no snapshot
 * capability needed.
 *
 * The simulator keeps a persistent map of every sector it has changed (O(1)
 * to capture at a barrier) and the contents each sector had before the
 * simulator first changed it, read once, just before. A shrink reads the
 * mapped sectors it is about to drop first, so a crash back to a larger size
 * brings them back. Resetting writes back every sector that differs between
 * the live device and the target, found from the changes on the path between
 * the two images in the tree of images (or, after `forget` cut that tree,
 * over every sector known).
 */
import type { BlockDeviceShape, ReadError } from "@effect-block/block"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type { Backend } from "./CrashBackend.js"
import type { Piece } from "./CrashStates.js"

/**
 * A journal image: the device size and every sector the simulator has
 * changed. Images form a tree (each barrier or crash adds a child), and each
 * records the sectors that differ from its parent.
 */
export interface JournalImage {
  readonly sizeSectors: number
  readonly sectors: HashMap.HashMap<number, Uint8Array>
  /** Cut by `forget`, so old images can be collected. */
  parent: JournalImage | undefined
  readonly changed: ReadonlyArray<number>
  readonly depth: number
}

/** Largest read the journal issues at once while saving what a shrink drops. */
const chunkSectorsFor = (sectorSize: number) => Math.max(1, Math.floor((1 << 20) / sectorSize))

/** The journal strategy over `device`, whose geometry is `sectorSize` × `sizeSectors` now. */
export const journalBackend = (
  device: BlockDeviceShape,
  sectorSize: number,
  sizeSectors: number
): Backend<JournalImage> => {
  const zero = new Uint8Array(sectorSize)
  /** Contents of each sector before the simulator first changed it. */
  const original = new Map<number, Uint8Array>()
  let anchor: JournalImage = { sizeSectors, sectors: HashMap.empty(), parent: undefined, changed: [], depth: 0 }
  let liveSectors = anchor.sectors
  let liveSize = sizeSectors
  let sinceAnchor = new Set<number>()
  /** Sectors a failed or interrupted write may have changed: what the device holds there is not known. */
  let unknown = new Set<number>()

  const contentIn = (size: number, sectors: HashMap.HashMap<number, Uint8Array>, sector: number): Uint8Array =>
    sector >= size ? zero : Option.getOrUndefined(HashMap.get(sectors, sector)) ?? original.get(sector) ?? zero

  const slices = (sectors: number, data: Uint8Array | undefined) =>
    Array.from({ length: sectors }, (_, i) => data === undefined ? zero : data.subarray(i * sectorSize, (i + 1) * sectorSize))

  const setAll = (map: HashMap.HashMap<number, Uint8Array>, sectorStart: number, contents: ReadonlyArray<Uint8Array>) =>
    HashMap.mutate(map, (mutable) => {
      contents.forEach((bytes, i) => HashMap.set(mutable, sectorStart + i, bytes))
    })

  /** Every sector known at or past `size` reads as zeros in `map` afterwards. */
  const dropFrom = (map: HashMap.HashMap<number, Uint8Array>, size: number, changed: Set<number>) => {
    const dropped = [...HashMap.keys(map), ...original.keys()].filter((s) => s >= size)
    for (const s of dropped) changed.add(s)
    return HashMap.mutate(map, (mutable) => {
      for (const s of dropped) HashMap.set(mutable, s, zero)
    })
  }

  /** Reads `[start, end)` into `original` where it has nothing yet. */
  const saveOriginals = (start: number, end: number): Effect.Effect<void, ReadError> =>
    Effect.suspend(() => {
      let from = -1
      for (let s = start; s < end && from < 0; s++) if (!original.has(s)) from = s
      if (from < 0) return Effect.void
      const buffer = new Uint8Array((end - from) * sectorSize)
      return Effect.map(device.read(from, buffer), () => {
        for (let s = from; s < end; s++) {
          if (!original.has(s)) original.set(s, buffer.subarray((s - from) * sectorSize, (s - from + 1) * sectorSize))
        }
      })
    })

  /** The mapped sectors of `[start, end)` that have no original yet, read in chunks. */
  const saveMapped = (start: number, end: number): Effect.Effect<void, ReadError> =>
    Effect.gen(function*() {
      const chunk = chunkSectorsFor(sectorSize)
      let from = start
      while (from < end) {
        const mapped = Math.min(end, yield* device.seekMapped(from))
        if (mapped >= end) return
        const hole = Math.min(end, yield* device.seekUnmapped(mapped))
        for (let s = mapped; s < hole; s += chunk) yield* saveOriginals(s, Math.min(hole, s + chunk))
        from = Math.max(hole, mapped + 1)
      }
    })

  /** What the device holds in the unknown sectors, read back into the live map. */
  const resolveUnknown = Effect.suspend(() => {
    const sectors = [...unknown].filter((s) => s < liveSize).sort((a, b) => a - b)
    return Effect.forEach(sectors, (s) => {
      const buffer = new Uint8Array(sectorSize)
      return Effect.map(device.read(s, buffer), () => {
        liveSectors = HashMap.set(liveSectors, s, buffer)
        sinceAnchor.add(s)
      })
    }, { discard: true }).pipe(Effect.map(() => {
      unknown = new Set()
    }))
  })

  /** Sectors that may differ between the live device and `image`, or `undefined` when the tree path is cut. */
  const candidates = (image: JournalImage): Set<number> | undefined => {
    const found = new Set(sinceAnchor)
    let a: JournalImage | undefined = anchor
    let b: JournalImage | undefined = image
    while (a !== b) {
      if (a === undefined || b === undefined) return undefined
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

  const differs = (a: Uint8Array, b: Uint8Array): boolean => {
    if (a === b) return false
    for (let i = 0; i < sectorSize; i++) if (a[i] !== b[i]) return true
    return false
  }

  return {
    kind: "journal",
    capture: Effect.andThen(
      resolveUnknown,
      Effect.sync(() => {
        if (sinceAnchor.size > 0 || liveSize !== anchor.sizeSectors) {
          anchor = { sizeSectors: liveSize, sectors: liveSectors, parent: anchor, changed: [...sinceAnchor], depth: anchor.depth + 1 }
          sinceAnchor = new Set()
        }
        return anchor
      })
    ),
    beforeWrite: (sectorStart, sectors) => saveOriginals(sectorStart, sectorStart + sectors),
    afterWrite: (sectorStart, sectors, data) => {
      liveSectors = setAll(liveSectors, sectorStart, slices(sectors, data))
      for (let i = 0; i < sectors; i++) {
        sinceAnchor.add(sectorStart + i)
        unknown.delete(sectorStart + i)
      }
    },
    afterUnknownWrite: (sectorStart, sectors) => {
      for (let i = 0; i < sectors; i++) {
        sinceAnchor.add(sectorStart + i)
        unknown.add(sectorStart + i)
      }
    },
    beforeResize: (newSize) => newSize < liveSize ? saveMapped(newSize, liveSize) : Effect.void,
    afterResize: (newSize) => {
      if (newSize === liveSize) return
      // Sectors dropped by a shrink read as zeros if the device grows again.
      liveSectors = dropFrom(liveSectors, newSize, sinceAnchor)
      for (const s of unknown) if (s >= newSize) unknown.delete(s)
      liveSize = newSize
    },
    base: (image) => ({
      sectorSize,
      sizeSectors: image.sizeSectors,
      content: (sector) => contentIn(image.sizeSectors, image.sectors, sector)
    }),
    reset: (image, pieces: ReadonlyArray<Piece>) =>
      Effect.suspend(() => {
        let targetSectors = image.sectors
        let targetSize = image.sizeSectors
        const changed = new Set<number>()
        for (const piece of pieces) {
          if (piece.kind === "resize") {
            if (piece.sizeSectors < targetSize) targetSectors = dropFrom(targetSectors, piece.sizeSectors, changed)
            targetSize = piece.sizeSectors
          } else {
            targetSectors = setAll(targetSectors, piece.sectorStart, slices(piece.sectors, piece.data))
            for (let i = 0; i < piece.sectors; i++) changed.add(piece.sectorStart + i)
          }
        }
        const fromSize = liveSize
        const fromSectors = liveSectors
        const path = targetSize === fromSize ? candidates(image) : undefined
        // A size change or a cut path can expose sectors no path records: compare everything known then.
        const maybe = path === undefined ?
          new Set([...HashMap.keys(fromSectors), ...HashMap.keys(targetSectors), ...original.keys(), ...changed]) :
          new Set([...path, ...changed])
        for (const s of unknown) maybe.add(s)
        const differing = [...maybe].filter((s) => s < targetSize).sort((a, b) => a - b).filter((s) =>
          unknown.has(s) || differs(contentIn(targetSize, targetSectors, s), contentIn(fromSize, fromSectors, s))
        )
        // Consecutive sectors go out as one multi-buffer write (of a bounded number of buffers).
        const runs: Array<{ start: number; buffers: Array<Uint8Array> }> = []
        for (const s of differing) {
          const last = runs[runs.length - 1]
          const bytes = contentIn(targetSize, targetSectors, s)
          if (last !== undefined && last.start + last.buffers.length === s && last.buffers.length < 1024) last.buffers.push(bytes)
          else runs.push({ start: s, buffers: [bytes] })
        }
        // A shrink drops sectors other images may still need: save what the device holds there first.
        const resize = targetSize === fromSize ?
          Effect.void :
          Effect.andThen(targetSize < fromSize ? saveMapped(targetSize, fromSize) : Effect.void, device.resize(targetSize))
        return Effect.andThen(
          resize,
          Effect.forEach(runs, (run) => device.write(run.start, run.buffers), { discard: true })
        ).pipe(Effect.map(() => {
          anchor = { sizeSectors: targetSize, sectors: targetSectors, parent: image, changed: [...changed], depth: image.depth + 1 }
          liveSectors = targetSectors
          liveSize = targetSize
          sinceAnchor = new Set()
          unknown = new Set()
          return anchor
        }))
      }),
    forget: () => {
      anchor.parent = undefined
    }
  }
}
