/**
 * What the fault injector's ledger records: one value per injected fault,
 * saying which operation it struck, how, and that operation's number, so a
 * test oracle can tell injected damage from a bug and a replay can find it.
 *
 * @since 0.2.0
 */

/**
 * The kinds of fault the injector records.
 *
 * @since 0.1.0
 */
export type FaultKind = FaultRecord["kind"]

/**
 * What every ledger entry says: the operation it happened to, that
 * operation's requested range (`0, 0` for a flush), and the operation's
 * number among the reads, writes and flushes this injector has seen
 * (counting from 0), which identifies it in a replay.
 *
 * @since 0.1.0
 */
export interface FaultRecordBase {
  readonly operation: "read" | "write" | "flush"
  readonly sectorStart: number
  readonly sectors: number
  readonly operationIndex: number
}

/**
 * A read failed `IOError` at random; nothing was read.
 *
 * @since 0.1.0
 */
export interface ReadErrorFault extends FaultRecordBase {
  readonly kind: "readError"
  readonly operation: "read"
}

/**
 * A read touched a bad sector and failed `IOError`; `badSector` is the first
 * one it touched.
 *
 * @since 0.1.0
 */
export interface BadSectorFault extends FaultRecordBase {
  readonly kind: "badSector"
  readonly operation: "read"
  readonly badSector: number
}

/**
 * A read succeeded but one bit of the returned data was flipped: bit `bit`
 * (0 is the low bit of the sector's first byte) of sector `corruptedSector`.
 *
 * @since 0.1.0
 */
export interface CorruptionFault extends FaultRecordBase {
  readonly kind: "corruption"
  readonly operation: "read"
  readonly corruptedSector: number
  readonly bit: number
}

/**
 * A write failed `IOError` after its first `appliedSectors` sectors (maybe
 * none, maybe all) reached the device.
 *
 * @since 0.1.0
 */
export interface WriteErrorFault extends FaultRecordBase {
  readonly kind: "writeError"
  readonly operation: "write"
  readonly appliedSectors: number
}

/**
 * A write reported success, but its data went to `targetSector` onwards
 * instead of `sectorStart` onwards.
 *
 * @since 0.1.0
 */
export interface MisdirectedWriteFault extends FaultRecordBase {
  readonly kind: "misdirectedWrite"
  readonly operation: "write"
  readonly targetSector: number
}

/**
 * A flush failed `IOError`; nothing was flushed.
 *
 * @since 0.1.0
 */
export interface FlushErrorFault extends FaultRecordBase {
  readonly kind: "flushError"
  readonly operation: "flush"
}

/**
 * One injected fault, as the ledger records it. Switch on `kind`.
 *
 * @since 0.1.0
 */
export type FaultRecord =
  | ReadErrorFault
  | BadSectorFault
  | CorruptionFault
  | WriteErrorFault
  | MisdirectedWriteFault
  | FlushErrorFault
