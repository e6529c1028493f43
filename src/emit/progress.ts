// A one-line progress bar for long image work, drawn only on a terminal: in a pipe, a log file or
// CI the bar's carriage returns would be noise, so nothing is written there.

export interface Progress {
  update(done: number): void;
  finish(): void;
}

const GiB = 2 ** 30;
const REDRAW_MS = 100;

export function progressBar(label: string, total: number | null, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => {}, finish: () => {} };
  let last = 0;
  const draw = (done: number) => {
    const amount = `${(done / GiB).toFixed(2)}${total ? `/${(total / GiB).toFixed(2)}` : ''} GiB`;
    const width = Math.max(10, Math.min(40, (stream.columns || 80) - label.length - amount.length - 12));
    const fraction = total ? Math.min(1, done / total) : 0;
    const bar = total ? ` [${'#'.repeat(Math.round(fraction * width)).padEnd(width, '.')}] ${String(Math.floor(fraction * 100)).padStart(3)}%` : '';
    stream.write(`\r${label}${bar} ${amount}\x1b[K`);
  };
  return {
    update(done) {
      const now = Date.now();
      if (now - last < REDRAW_MS) return;
      last = now;
      draw(done);
    },
    finish() {
      stream.write('\r\x1b[K');
    },
  };
}
