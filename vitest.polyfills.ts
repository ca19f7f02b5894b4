/**
 * Node 20 lacks `Map.groupBy` and `Object.groupBy` (Node 21+), which Vitest 5's
 * reporters call when they print failures. We support Node 20, so install
 * minimal versions when they are missing. Imported by `vitest.config.ts`
 * (the main process) and `vitest.setup.ts` (the workers); test-only.
 */
const mapGroupBy = <K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, Array<V>> => {
  const groups = new Map<K, Array<V>>()
  let index = 0
  for (const item of items) {
    const k = key(item, index++)
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [item])
    else group.push(item)
  }
  return groups
}

const objectGroupBy = <V>(items: Iterable<V>, key: (item: V, index: number) => PropertyKey) =>
  Object.fromEntries(mapGroupBy(items, key))

if (typeof (Map as { groupBy?: unknown }).groupBy !== "function") {
  Object.defineProperty(Map, "groupBy", { value: mapGroupBy, configurable: true, writable: true })
}
if (typeof (Object as { groupBy?: unknown }).groupBy !== "function") {
  Object.defineProperty(Object, "groupBy", { value: objectGroupBy, configurable: true, writable: true })
}

export {}
