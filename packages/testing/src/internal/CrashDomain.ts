/**
 * The power domain behind the crash simulator: one or more devices whose
 * write caches lose power together. It wraps each device, records every
 * write-type operation in one global history (epochs closed by each
 * device's flushes), lists the post-crash states of an epoch, and crashes
 * every device of the domain into one of them at once.
 *
 * The public service and its options are in `CrashSimulator.ts`; the state
 * search in `CrashStates.ts`; the durable-image strategies in
 * `CrashBackend.ts` and `CrashJournal.ts`.
 */
import { BlockDevice, type BlockDeviceShape, Disconnected, InvalidRequest, type WriteError } from "@effect-block/block"
import { type CheckedRequest, describeValue } from "@effect-block/block/Implementer"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Semaphore from "effect/Semaphore"
import type { CrashSimulatorShape } from "../CrashSimulator.js"
import { type Coverage, CrashState, type CrashStates, type PendingWrite } from "../CrashState.js"
import type { Backend, BackendKind } from "./CrashBackend.js"
import { decodeOptions, StatesOptions } from "./CrashOptions.js"
import { stateData } from "./CrashStateData.js"
import * as States from "./CrashStates.js"

/** One device of the domain, with the strategy that keeps its durable images. */
export interface Member {
  readonly device: BlockDeviceShape
  readonly backend: Backend<unknown>
  readonly sectorSize: number
  readonly sizeSectors: number
  /** Its first durable image, captured when the domain was built. */
  readonly image: unknown
}

/** A linked list of mark labels, so closing an epoch does not copy them. */
interface Marks {
  readonly label: string
  readonly previous: Marks | undefined
}

const marksToArray = (marks: Marks | undefined): Array<string> => {
  const labels: Array<string> = []
  for (let m = marks; m !== undefined; m = m.previous) labels.push(m.label)
  return labels.reverse()
}

const marksFromArray = (labels: ReadonlyArray<string>): Marks | undefined =>
  labels.reduce<Marks | undefined>((previous, label) => ({ label, previous }), undefined)

/** The history between two barriers: each device's durable image, and every op pending at its end. */
interface Epoch {
  readonly images: ReadonlyArray<unknown>
  readonly ops: Array<States.Op>
  marks: Marks | undefined
}

/** Failures after which the contract says nothing was written. */
const harmless = new Set(["InvalidRequest", "IsReadOnly", "Unimplemented"])

const nothingHappened = (cause: Cause.Cause<unknown>): boolean =>
  cause.reasons.length > 0 && cause.reasons.every((reason) =>
    Cause.isFailReason(reason) && typeof reason.error === "object" && reason.error !== null &&
    "_tag" in reason.error && harmless.has(String(reason.error._tag))
  )

const invalid = (operation: string, message: string) => new InvalidRequest({ operation, message: `${operation}: ${message}` })

/** Options of the domain, already decoded. */
export interface DomainOptions {
  readonly seed: number
  /** Closed epochs kept at most; older ones are forgotten. `undefined`: all. */
  readonly keepEpochs: number | undefined
}

/** Builds the domain over `members`: the wrapped devices, in order, and the controls. */
export const makeDomain = (members: ReadonlyArray<Member>, options: DomainOptions) => {
  const owner = {}
  const lock = Semaphore.makeUnsafe(1)
  const random = States.makeRandom(options.seed)
  const sizes = members.map((member) => member.sizeSectors)
  let forgotten = 0
  let epochs: Array<Epoch> = [{ images: members.map((member) => member.image), ops: [], marks: undefined }]
  const open = (): Epoch => epochs[epochs.length - 1] ?? { images: [], ops: [], marks: undefined }

  const push = (epoch: Epoch) => {
    epochs.push(epoch)
    const closed = epochs.length - 1
    if (options.keepEpochs !== undefined && closed > options.keepEpochs) {
      const drop = closed - options.keepEpochs
      epochs = epochs.slice(drop)
      forgotten += drop
    }
  }

  const record = (op: Omit<States.Op, "after">) => {
    open().ops.push({ ...op, after: open().marks?.label })
  }

  /** A successful flush of device `d`: what it holds now is durable; other devices' writes stay pending. */
  const barrier = (d: number) =>
    Effect.suspend(() => {
      const current = open()
      const member = members[d]
      if (member === undefined || !current.ops.some((op) => op.device === d)) return Effect.void
      return Effect.map(member.backend.capture, (image) => {
        const images = current.images.slice()
        images[d] = image
        push({ images, ops: current.ops.filter((op) => op.device !== d), marks: current.marks })
      })
    })

  /** Records a write or discard once it ends, however it ends. */
  const tracked = (
    d: number,
    member: Member,
    operation: "write" | "discard",
    sectorStart: number,
    sectors: number,
    data: Uint8Array | undefined,
    effect: Effect.Effect<void, WriteError>
  ) =>
    Effect.andThen(
      member.backend.beforeWrite(sectorStart, sectors),
      Effect.onExit(effect, (exit) =>
        Effect.sync(() => {
          if (sectors === 0) return
          const unknownExtent = Exit.isFailure(exit)
          if (unknownExtent && nothingHappened(exit.cause)) return
          if (unknownExtent) member.backend.afterUnknownWrite(sectorStart, sectors)
          else member.backend.afterWrite(sectorStart, sectors, data)
          const size = sizes[d] ?? 0
          record({ operation, device: d, sectorStart, sectors, sizeSectors: size, fromSize: size, data, unknownExtent })
        }))
    )

  /** One contiguous copy of `buffers`, taken before the device sees them: the record and the device get the same bytes. */
  const copyOf = (buffers: ReadonlyArray<Uint8Array>, sectors: number, sectorSize: number): Uint8Array => {
    const data = new Uint8Array(sectors * sectorSize)
    let offset = 0
    for (const buffer of buffers) {
      data.set(buffer, offset)
      offset += buffer.byteLength
    }
    return data
  }

  /** A vectored write: every request's range read first, then one call, then each request recorded, however it ends. */
  const trackedVectored = (d: number, member: Member, requests: ReadonlyArray<CheckedRequest>) =>
    Effect.suspend(() => {
      const copies = requests.map((request) => ({
        sectorStart: request.sectorStart,
        sectors: request.sectors,
        data: copyOf(request.list, request.sectors, member.sectorSize)
      }))
      return Effect.andThen(
        Effect.forEach(copies, (copy) => member.backend.beforeWrite(copy.sectorStart, copy.sectors), { discard: true }),
        Effect.onExit(
          member.device.writeVectored(copies.map((copy) => ({ sectorStart: copy.sectorStart, buffers: copy.data }))),
          (exit) =>
            Effect.sync(() => {
              const unknownExtent = Exit.isFailure(exit)
              if (unknownExtent && nothingHappened(exit.cause)) return
              const size = sizes[d] ?? 0
              for (const { data, sectorStart, sectors } of copies) {
                if (sectors === 0) continue
                if (unknownExtent) member.backend.afterUnknownWrite(sectorStart, sectors)
                else member.backend.afterWrite(sectorStart, sectors, data)
                record({ operation: "write", device: d, sectorStart, sectors, sizeSectors: size, fromSize: size, data, unknownExtent })
              }
            })
        )
      )
    })

  const wrap = (member: Member, d: number): BlockDeviceShape => {
    const { device, sectorSize } = member
    return BlockDevice.makeUnsafe({
      // While the device beneath is disconnected or destroyed, every request fails Disconnected.
      wraps: [device],
      name: members.length === 1 ? "crash simulator" : `crash simulator device ${d}`,
      info: device.info,
      read: (sectorStart, buffers) => lock.withPermit(device.read(sectorStart, buffers)),
      write: (sectorStart, buffers, sectors) =>
        lock.withPermit(Effect.suspend(() => {
          const data = copyOf(buffers, sectors, sectorSize)
          return tracked(d, member, "write", sectorStart, sectors, data, device.write(sectorStart, data))
        })),
      // Vectored requests pass through as one call under the lock: applied as one step, as the device applies them.
      readVectored: (requests) =>
        lock.withPermit(device.readVectored(requests.map((request) => ({ sectorStart: request.sectorStart, buffers: request.list })))),
      writeVectored: (requests) => lock.withPermit(trackedVectored(d, member, requests)),
      flush: lock.withPermit(Effect.andThen(device.flush, barrier(d))),
      discard: (sectorStart, sectors) =>
        lock.withPermit(tracked(d, member, "discard", sectorStart, sectors, undefined, device.discard(sectorStart, sectors))),
      resize: (sizeSectors) =>
        lock.withPermit(Effect.andThen(
          member.backend.beforeResize(sizeSectors),
          Effect.onExit(device.resize(sizeSectors), (exit) => {
            const from = sizes[d] ?? 0
            const note = (unknownExtent: boolean, now: number) => {
              if (now !== from) member.backend.afterResize(now)
              sizes[d] = now
              record({
                operation: "resize",
                device: d,
                sectorStart: 0,
                sectors: 0,
                sizeSectors,
                fromSize: from,
                data: undefined,
                unknownExtent
              })
            }
            if (Exit.isSuccess(exit)) return Effect.sync(() => note(false, sizeSectors))
            if (nothingHappened(exit.cause)) return Effect.void
            // Failed in flight: the size is whatever the device reports now.
            return Effect.map(device.info, (info) => note(true, info.sizeSectors))
          })
        )),
      seekMapped: (from) => lock.withPermit(device.seekMapped(from)),
      seekUnmapped: (from) => lock.withPermit(device.seekUnmapped(from))
    })
  }

  const basesOf = (epoch: Epoch): Array<States.Base> =>
    members.map((member, d) => member.backend.base(epoch.images[d]))

  const describe = (ops: ReadonlyArray<States.Op>): Array<PendingWrite> =>
    ops.map((op, index): PendingWrite => ({
      index,
      device: op.device,
      operation: op.operation,
      sectorStart: op.operation === "resize" ? Math.min(op.fromSize, op.sizeSectors) : op.sectorStart,
      sectors: op.operation === "resize" ? Math.abs(op.sizeSectors - op.fromSize) : op.sectors,
      sizeSectors: op.sizeSectors,
      extent: op.unknownExtent ? "unknown" : "whole",
      after: op.after
    }))

  const stateOf = (
    index: number,
    epoch: Epoch,
    ops: ReadonlyArray<States.Op>,
    pending: ReadonlyArray<PendingWrite>,
    choice: States.Choice,
    search: Pick<States.SearchOptions, "seed" | "damage">,
    bases: ReadonlyArray<States.Base>
  ): CrashState => {
    const landed: Array<number> = []
    const torn: Array<number> = []
    const damaged: Array<number> = []
    choice.landings.forEach((landing, o) => {
      if (landing === true) landed.push(o)
      else if (landing !== false) {
        torn.push(o)
        if (search.damage !== "none") damaged.push(o)
      }
    })
    const state = new CrashState({
      epoch: index,
      writes: ops.length,
      landed,
      torn,
      damaged,
      marks: marksToArray(epoch.marks),
      pending
    })
    stateData.set(state, { owner, images: epoch.images, pieces: States.piecesOf(ops, bases, choice, search) })
    return state
  }

  const epochAt = (options: StatesOptions): Epoch | InvalidRequest => {
    const total = forgotten + epochs.length
    const index = options.epoch ?? total - 1
    if (index < forgotten) {
      return invalid("states", `epoch ${index} was forgotten (epochs before ${forgotten} are no longer kept)`)
    }
    return epochs[index - forgotten] ?? invalid("states", `epoch ${index} is not an epoch index from 0 to ${total - 1}`)
  }

  const states = (options: StatesOptions): Effect.Effect<CrashStates, InvalidRequest> =>
    lock.withPermit(Effect.suspend(() => {
      const epoch = epochAt(options)
      if (epoch instanceof InvalidRequest) return Effect.fail(epoch)
      const index = options.epoch ?? forgotten + epochs.length - 1
      // The open epoch keeps growing: search a copy of what is pending now.
      const ops = epoch.ops.slice()
      const search: States.SearchOptions = {
        seed: options.seed ?? random.nextSeed(),
        limit: options.limit ?? 256,
        torn: options.torn ?? false,
        damage: options.damage ?? "none"
      }
      const bases = basesOf(epoch)
      const found = States.search(ops, bases, search)
      const pending = describe(ops)
      const list = found.choices.map((choice) => stateOf(index, epoch, ops, pending, choice, search, bases))
      const coverage: Coverage = {
        exhaustive: found.coverage.exhaustive,
        space: found.coverage.space,
        listed: list.length,
        prefixes: ops.length + 1,
        seed: search.seed
      }
      return Effect.succeed(Object.assign(list, { coverage }))
    }))

  const crash = (state: CrashState | undefined): Effect.Effect<CrashState, WriteError> =>
    lock.withPermit(Effect.suspend(() => {
      const target = state !== undefined ? state : (() => {
        const epoch = open()
        const ops = epoch.ops.slice()
        const choice = States.randomWhole(ops, random.next)
        return stateOf(forgotten + epochs.length - 1, epoch, ops, describe(ops), choice, { seed: 0, damage: "none" }, basesOf(epoch))
      })()
      const data = stateData.get(target)
      if (data === undefined || data.owner !== owner) {
        return Effect.fail(invalid("crash", "the state was not produced by this simulator's states() or crash()"))
      }
      return Effect.map(
        Effect.forEach(members, (member, d) =>
          Effect.flatMap(member.device.isConnected, (connected) =>
            connected ? Effect.void : Effect.fail(
              new Disconnected({ operation: "crash", message: `crash: device ${d} of the power domain is disconnected or destroyed` })
            )), { discard: true }).pipe(Effect.andThen(Effect.forEach(members, (member, d) =>
          member.backend.reset(data.images[d], data.pieces[d] ?? []).pipe(
            Effect.tap(() =>
              Effect.map(member.device.info, (info) => {
                sizes[d] = info.sizeSectors
              })
            )
          )))),
        (images) => {
          push({ images, ops: [], marks: marksFromArray(target.marks) })
          return target
        }
      )
    }))

  const simulator: CrashSimulatorShape = {
    backend: members[0]?.backend.kind ?? "journal",
    backends: members.map((member): BackendKind => member.backend.kind),
    pending: Effect.sync(() => open().ops.length),
    epochs: Effect.sync(() => forgotten + epochs.length),
    firstEpoch: Effect.sync(() => forgotten),
    mark: (label) =>
      Effect.sync(() => {
        const epoch = open()
        // A label is for people: anything but a string is recorded as its description, never run.
        epoch.marks = { label: typeof label === "string" ? label : describeValue(label), previous: epoch.marks }
      }),
    states: (options = {}) =>
      Effect.suspend(() => {
        const decoded = decodeOptions(StatesOptions, "states", options)
        return Result.isFailure(decoded) ? Effect.fail(decoded.failure) : states(decoded.success)
      }),
    crash: (state) => crash(state),
    forget: lock.withPermit(Effect.sync(() => {
      const last = open()
      forgotten += epochs.length - 1
      epochs = [last]
      for (const member of members) member.backend.forget()
    }))
  }
  return { devices: members.map(wrap), simulator }
}
