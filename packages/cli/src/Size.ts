/**
 * Sizes on the command line: `512` (bytes), `64K`, `64KiB`, `64MiB`, `1G`,
 * `1GiB`, `2T`. Every unit is binary (K = KiB = 1024), as qemu-img and
 * nbdkit read them. Shared by every subcommand that takes a size.
 *
 * @since 0.1.0
 */

const units: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4
}

/**
 * The number of bytes a size string means, or a message saying why it is
 * not a size (to be prefixed with the flag's name).
 *
 * @since 0.1.0
 */
export const parseSize = (text: string): number | string => {
  const match = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (match === null) return `${JSON.stringify(text)} is not a size (examples: 512, 64MiB, 1G)`
  const unit = units[match[2]!.toLowerCase()]
  if (unit === undefined) return `${JSON.stringify(text)} has an unknown unit ${JSON.stringify(match[2])} (use K, M, G, T or KiB, MiB, GiB, TiB)`
  const bytes = Number(match[1]) * unit
  if (!Number.isSafeInteger(bytes)) return `${JSON.stringify(text)} is larger than ${Number.MAX_SAFE_INTEGER} bytes`
  return bytes
}

/**
 * A byte count for people: `1 GiB`, `64 MiB`, `512 B`.
 *
 * @since 0.1.0
 */
export const formatSize = (bytes: number): string => {
  for (const [unit, size] of [["TiB", 1024 ** 4], ["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`
  }
  return `${bytes} B`
}
