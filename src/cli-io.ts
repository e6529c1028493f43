// What every command shares: exit codes, how problems are printed, and where text goes.
import { type Diagnostic, formatDiagnostics } from './diagnostics.js';

export const EXIT_OK = 0;
/** Invalid configuration, or `--check`/`diff` found changes. */
export const EXIT_INVALID = 1;
/** Wrong command line. */
export const EXIT_USAGE = 2;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export function reportDiagnostics(io: Io, diagnostics: readonly Diagnostic[], sourceText?: string): void {
  if (diagnostics.length > 0) io.err(formatDiagnostics(diagnostics, sourceText));
}

/** A problem the user caused that is not about cluster.yaml (files, arguments). */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_INVALID,
  ) {
    super(message);
  }
}
