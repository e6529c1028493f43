// Errors from writing cards and images carry a catalog entry (src/errors.ts), so they print like
// every other pi-seed problem: `error[code]: what is wrong` and `= hint: how to fix it`.
import { EXIT_INVALID, type Io, UserError } from '../cli-io.js';
import { type Problem } from '../diagnostics.js';

export class ProblemError extends UserError {
  constructor(
    readonly problem: Problem,
    exitCode: number = EXIT_INVALID,
  ) {
    super(problem.message, exitCode);
  }
}

/** An error shaped like Node's own file-system errors, for a tool that reported ENOSPC or EFBIG in words. */
export const errnoError = (code: 'ENOSPC' | 'EFBIG', message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

export function formatProblem(problem: Problem): string {
  return `${problem.severity}[${problem.code}]: ${problem.message}\n${problem.hint ? `  = hint: ${problem.hint}\n` : ''}`;
}

/** Runs a command body and prints a ProblemError it throws in the catalog's format. */
export async function reportingProblems(io: Io, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof ProblemError)) throw err;
    io.err(formatProblem(err.problem));
    return err.exitCode;
  }
}
