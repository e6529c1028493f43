// Shell quoting for every value that reaches a script. Single quotes make the shell take the
// bytes literally; an embedded quote is closed, escaped and reopened: it's → 'it'\''s'.
export function shellQuote(value: string | number | boolean): string {
  const text = String(value);
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
