// A small unified diff (longest common subsequence on lines) for `pi-seed diff`, so reviewers see
// exactly what a build would change without needing diff(1) on their machine.

export function unifiedDiff(oldText: string, newText: string, oldName: string, newName: string, context = 3): string {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  const ops = diffLines(a, b);
  const hunks: string[] = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.kind === ' ') {
      i++;
      continue;
    }
    // Grow a hunk around this change, merging changes closer than 2*context lines.
    let start = Math.max(0, i - context);
    let end = i;
    while (end < ops.length) {
      if (ops[end]!.kind !== ' ') {
        end++;
        continue;
      }
      let run = 0;
      while (end + run < ops.length && ops[end + run]!.kind === ' ') run++;
      if (end + run >= ops.length || run > 2 * context) {
        end = Math.min(ops.length, end + context);
        break;
      }
      end += run;
    }
    const slice = ops.slice(start, end);
    const first = slice[0]!;
    const oldCount = slice.filter((o) => o.kind !== '+').length;
    const newCount = slice.filter((o) => o.kind !== '-').length;
    hunks.push(`@@ -${oldCount ? first.oldLine + 1 : first.oldLine},${oldCount} +${newCount ? first.newLine + 1 : first.newLine},${newCount} @@`);
    for (const op of slice) hunks.push(`${op.kind}${op.text}`);
    i = end;
    start = end;
  }
  if (hunks.length === 0) return '';
  return [`--- ${oldName}`, `+++ ${newName}`, ...hunks].join('\n') + '\n';
}

interface Op {
  kind: ' ' | '-' | '+';
  text: string;
  oldLine: number;
  newLine: number;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += '\n\\ No newline at end of file';
  return lines;
}

function diffLines(a: string[], b: string[]): Op[] {
  // Trim the common head and tail first: generated files usually differ in a few places.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const n = midA.length;
  const m = midB.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let x = n - 1; x >= 0; x--) {
    for (let y = m - 1; y >= 0; y--) {
      lcs[x]![y] = midA[x] === midB[y] ? lcs[x + 1]![y + 1]! + 1 : Math.max(lcs[x + 1]![y]!, lcs[x]![y + 1]!);
    }
  }
  const ops: Op[] = [];
  for (let k = 0; k < head; k++) ops.push({ kind: ' ', text: a[k]!, oldLine: k, newLine: k });
  let x = 0;
  let y = 0;
  while (x < n || y < m) {
    if (x < n && y < m && midA[x] === midB[y]) {
      ops.push({ kind: ' ', text: midA[x]!, oldLine: head + x, newLine: head + y });
      x++;
      y++;
    } else if (y < m && (x >= n || lcs[x]![y + 1]! >= lcs[x + 1]![y]!)) {
      ops.push({ kind: '+', text: midB[y]!, oldLine: head + x, newLine: head + y });
      y++;
    } else {
      ops.push({ kind: '-', text: midA[x]!, oldLine: head + x, newLine: head + y });
      x++;
    }
  }
  for (let k = 0; k < tail; k++) ops.push({ kind: ' ', text: a[a.length - tail + k]!, oldLine: a.length - tail + k, newLine: b.length - tail + k });
  return ops;
}
