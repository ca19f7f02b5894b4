/**
 * The documentation's code blocks, as modules: scripts/doc-blocks.mjs writes
 * one module per `ts` block of README.md and docs/*.md into `blocks/` (not
 * committed), `tsc -b` type-checks them, and test/blocks.test.ts runs them.
 */
export {}
