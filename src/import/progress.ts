/** A progress line on stderr: bar, count, rate and ETA; plain lines every few seconds off a TTY. */
export class ProgressBar {
  private started = Date.now();
  private lastDraw = 0;
  private label = "";

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(label: string, done: number, total: number): void {
    if (label !== this.label) {
      if (this.label !== "") this.finish();
      this.label = label;
      this.started = Date.now();
    }
    const now = Date.now();
    const tty = this.stream.isTTY === true;
    if (done < total && now - this.lastDraw < (tty ? 200 : 5000)) return;
    this.lastDraw = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? (total - done) / rate : 0;
    const fraction = total === 0 ? 1 : done / total;
    const width = 30;
    const filled = Math.round(fraction * width);
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    const line = `${label.padEnd(9)} [${bar}] ${(fraction * 100).toFixed(1).padStart(5)}% ${done.toLocaleString("en")}/${total.toLocaleString("en")} ${Math.round(rate).toLocaleString("en")}/s ETA ${formatDuration(eta)}`;
    this.stream.write(tty ? `\r${line}` : `${line}\n`);
  }

  finish(): void {
    if (this.stream.isTTY === true && this.label !== "") this.stream.write("\n");
    this.label = "";
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
