/**
 * A progress bar on stderr, shown only when stderr is a terminal (scripts and CI logs stay clean).
 */
export interface Progress {
  update: (done: number, total: number) => void;
  done: () => void;
}

function gb(n: number): string {
  return `${(n / 1e9).toFixed(2)} GB`;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (!stream.isTTY) return undefined;
  const started = Date.now();
  let last = 0;
  let shown = false;
  let finished = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (finished || (now - last < 100 && done < total)) return; // at most 10 redraws a second
      last = now;
      shown = true;
      const width = 30;
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(frac * width);
      const secs = (now - started) / 1000;
      const rate = secs > 0 ? ` ${(done / 1e9 / secs).toFixed(2)} GB/s` : '';
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${gb(done)}/${gb(total)}${rate}\x1b[K`);
    },
    done() {
      if (finished) return;
      finished = true;
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
