// Bundle-only stand-in for node:assert, which yargs imports for two checks: loading node:assert
// costs about a third of Node's own start-up. Same behaviour for the calls yargs makes.
export function strictEqual(actual, expected, message) {
  if (actual !== expected) throw new Error(message ?? `expected ${String(expected)}, got ${String(actual)}`);
}
export function notStrictEqual(actual, expected, message) {
  if (actual === expected) throw new Error(message ?? `expected a value other than ${String(expected)}`);
}
export default { strictEqual, notStrictEqual };
