// A diagnostic is one problem found in the user's input: where (file, line, column, JSON path),
// what is wrong and how to fix it. Every command collects all of them before reporting.

export type JsonPath = ReadonlyArray<string | number>;
export type Severity = 'error' | 'warning';

/** A catalog entry (src/errors.ts) before it is placed in a file. */
export interface Problem {
  severity: Severity;
  /** Stable identifier, used by tests and for searching the docs. */
  code: string;
  message: string;
  hint?: string;
}

export interface Diagnostic extends Problem {
  path: JsonPath;
  file?: string;
  line?: number;
  col?: number;
}

/** `$.nodes[1].address`: the JSON path notation used in messages. */
export function formatPath(path: JsonPath): string {
  return (
    '$' +
    path
      .map((segment) =>
        typeof segment === 'number'
          ? `[${segment}]`
          : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)
            ? `.${segment}`
            : `[${JSON.stringify(segment)}]`,
      )
      .join('')
  );
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** With --strict every warning counts as an error. */
export function applyStrict(diagnostics: readonly Diagnostic[], strict: boolean): Diagnostic[] {
  return strict ? diagnostics.map((d) => ({ ...d, severity: 'error' as const })) : [...diagnostics];
}

/** Sorts by file position so the report reads top to bottom like the file. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.col ?? 0) - (b.col ?? 0) ||
      formatPath(a.path).localeCompare(formatPath(b.path)) ||
      a.code.localeCompare(b.code),
  );
}

/**
 * Renders diagnostics like compilers do:
 *   error[unknown-key]: unknown key "adress" (did you mean "address"?)
 *     --> cluster.yaml:12:7 at $.nodes[0].adress
 *      |
 *   12 |     adress: 192.168.1.101
 *      |     ^
 *     = hint: ...
 */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], sourceText?: string): string {
  const lines = sourceText?.split(/\r?\n/);
  const out: string[] = [];
  for (const d of sortDiagnostics(diagnostics)) {
    out.push(`${d.severity}[${d.code}]: ${d.message}`);
    const where = d.file ? `${d.file}${d.line ? `:${d.line}:${d.col ?? 1}` : ''}` : '';
    out.push(`  --> ${[where, d.path.length > 0 || !where ? `at ${formatPath(d.path)}` : ''].filter(Boolean).join(' ')}`);
    const sourceLine = d.line && lines ? lines[d.line - 1] : undefined;
    if (sourceLine !== undefined && d.line) {
      const gutter = String(d.line).length;
      const shown = sourceLine.length > 160 ? `${sourceLine.slice(0, 160)}…` : sourceLine;
      out.push(`${' '.repeat(gutter)} |`);
      out.push(`${d.line} | ${shown}`);
      out.push(`${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, Math.min((d.col ?? 1) - 1, 160)))}^`);
    }
    if (d.hint) out.push(`  = hint: ${d.hint}`);
    out.push('');
  }
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  out.push(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
  return out.join('\n') + '\n';
}
