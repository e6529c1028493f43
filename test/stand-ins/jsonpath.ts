// kubectl's -o jsonpath templates: text with {expr} parts, {range expr}...{end}, {"literal"}.
// Expressions are evaluated with jsonpath-plus (installed with @kubernetes/client-node);
// several results print space-separated, objects as JSON, missing keys as nothing (kubectl's
// default --allow-missing-template-keys=true).
import { JSONPath } from 'jsonpath-plus';

type Token = { text: string } | { expr: string };

function tokenize(template: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      tokens.push({ text: template.slice(i) });
      break;
    }
    if (open > i) tokens.push({ text: template.slice(i, open) });
    // The closing brace outside a string literal.
    let j = open + 1;
    let quote = '';
    for (; j < template.length; j++) {
      const ch = template[j]!;
      if (quote) {
        if (ch === '\\') j++;
        else if (ch === quote) quote = '';
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '}') break;
    }
    if (j >= template.length) throw new Error(`error parsing jsonpath ${template}, unclosed action`);
    tokens.push({ expr: template.slice(open + 1, j).trim() });
    i = j + 1;
  }
  return tokens;
}

/** kubectl escapes a dot inside a key as \. (`{.data.a\.yaml}`); jsonpath-plus wants ['a.yaml']. */
const escapedDots = (expr: string): string => expr.replace(/\.((?:[^.[\]\\]|\\\.)*\\\.(?:[^.[\]\\]|\\\.)*)/g, (_, key: string) => `['${key.replace(/\\\./g, '.')}']`);

function evaluate(raw: string, data: unknown): unknown[] {
  const expr = escapedDots(raw);
  if (expr === '@' || expr === '.' || expr === '$') return [data];
  const path = expr.startsWith('$') ? expr : `$${expr.startsWith('.') || expr.startsWith('[') ? '' : '.'}${expr}`;
  return JSONPath({ path, json: data as object, wrap: true, eval: 'safe' }) as unknown[];
}

const show = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function run(tokens: Token[], start: number, data: unknown, out: string[]): number {
  let i = start;
  while (i < tokens.length) {
    const token = tokens[i]!;
    if ('text' in token) {
      out.push(token.text);
      i++;
      continue;
    }
    const expr = token.expr;
    if (expr === 'end') return i + 1;
    if (expr.startsWith('range ')) {
      const items = evaluate(expr.slice(6).trim(), data);
      let next = i + 1;
      // An empty range still has to skip its body: run it once with no output.
      if (items.length === 0) next = run(tokens, i + 1, undefined, []);
      for (const item of items) next = run(tokens, i + 1, item, out);
      i = next;
      continue;
    }
    if (/^(["']).*\1$/s.test(expr)) out.push(expr.startsWith('"') ? (JSON.parse(expr) as string) : expr.slice(1, -1));
    else if (data !== undefined) out.push(evaluate(expr, data).map(show).join(' '));
    i++;
  }
  return i;
}

export function jsonpath(template: string, data: unknown): string {
  const out: string[] = [];
  run(tokenize(template), 0, data, out);
  return out.join('');
}
