/**
 * A copy-on-write generation. Objects created in the current epoch are owned
 * by the live device and may change in place; a snapshot starts a new epoch.
 * Compared by identity, so no counter (and no global state) is needed.
 */
export class Epoch {}
