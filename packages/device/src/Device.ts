/**
 * What every device is, whatever it stores: something a program connects to
 * and later disconnects from, and the two errors any device can answer with.
 *
 * This is the Effect counterpart of MirageOS's `Mirage_device.S`. Block
 * devices (`@effect-block/block`) extend it; so can network or console
 * devices, which is why it lives in its own package.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * A connected device handle.
 *
 * `disconnect` releases the handle. It never fails and is idempotent; after it
 * every operation of the handle (other than reading its static description and
 * disconnecting again) fails with {@link Disconnected}. Other handles of the
 * same underlying device keep working.
 *
 * @since 0.1.0
 */
export interface Device {
  readonly disconnect: Effect.Effect<void>
}

/**
 * The device cannot perform this operation at all (a fixed-size device asked
 * to resize, a device without discard asked to discard). Nothing was read or
 * written.
 *
 * @since 0.1.0
 */
export class Unimplemented extends Schema.TaggedError<Unimplemented>()("Unimplemented", {
  operation: Schema.String,
  message: Schema.String
}) {}

/**
 * The handle was disconnected, or the device behind it was destroyed. For a
 * write that was in flight when that happened, whether the data landed is
 * unknown; calls made afterwards did nothing.
 *
 * @since 0.1.0
 */
export class Disconnected extends Schema.TaggedError<Disconnected>()("Disconnected", {
  operation: Schema.String,
  message: Schema.String
}) {}

/**
 * Anything `formatError` can print: every error of this project is a tagged
 * error carrying a human-readable message.
 *
 * @since 0.1.0
 */
export interface FormattableError {
  readonly _tag: string
  readonly message: string
}

/**
 * One line describing an error: `"<Tag>: <message>"`, with any line breaks in
 * the message folded into spaces so the result is safe to log on one line.
 * It is the `pp_error` / `pp_write_error` of Mirage and works for every error
 * of the device and block packages.
 *
 * @since 0.1.0
 */
export const formatError = (error: FormattableError): string => {
  const message = error.message.replace(/\s*\r?\n\s*/g, " ").trim()
  return message.length === 0 ? error._tag : `${error._tag}: ${message}`
}
