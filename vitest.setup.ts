/**
 * Runs in every test worker: installs the polyfills (see `vitest.polyfills.ts`).
 */
import "./vitest.polyfills.js"
