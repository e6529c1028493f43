// Bundle-only stand-in for string-width, which yargs uses to lay out help text (and builds after
// every command). pi-seed's help text is ASCII, so its width is its length without colour codes;
// the real package's Unicode tables cost more than the rest of a short command.
const ANSI = /\u001B\[[0-9;]*m/g;
export default function stringWidth(text) {
  return String(text).replace(ANSI, '').length;
}
