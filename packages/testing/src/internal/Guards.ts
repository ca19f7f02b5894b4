/**
 * Guards for the values the kit's functions take besides options: they
 * answer for any value, a Proxy whose traps throw or a revoked one included,
 * without throwing.
 *
 * @since 0.2.0
 * @internal
 */
import * as Layer from "effect/Layer"

/** Whether `value` is a Layer; false for anything that throws while being looked at. */
export const isLayer = (value: unknown): value is Layer.Layer<never, unknown, unknown> => {
  try {
    return Layer.isLayer(value)
  } catch {
    return false
  }
}
