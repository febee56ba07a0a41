// Progress bars for long CLI jobs (to stderr, so stdout stays clean for data). Quiet when stderr
// is not a terminal, except for a final line.

import cliProgress from 'cli-progress';

export function progressBar(label: string) {
  const tty = Boolean(process.stderr.isTTY);
  const bar = new cliProgress.SingleBar(
    { format: `${label.padEnd(11)} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}`, stream: process.stderr, noTTYOutput: false, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let startedAt = 0;
  return {
    update(done: number, total: number) {
      if (!tty) return;
      if (!started) {
        started = true;
        startedAt = performance.now();
        bar.start(total, 0, { rate: '0' });
      }
      const seconds = (performance.now() - startedAt) / 1000;
      bar.setTotal(total);
      bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds).toLocaleString('en') : '0' });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
