import cliProgress from 'cli-progress';

/** A progress bar on a terminal; on anything else, a plain line every tenth of the epoch. */
export class EpochProgress {
  private bar: cliProgress.SingleBar | null = null;
  private nextLine = 0;
  private lastUpdate = performance.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly log: (line: string) => void,
  ) {
    if (process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {value}/{total} loss {loss} {imgs} img/s eta {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { loss: '–', imgs: '–' });
    }
  }

  /** Whether the display wants fresh numbers at this step: the bar about once a second, a plain line every tenth of the epoch. */
  due(step: number): boolean {
    if (step === this.total) return true;
    return this.bar ? performance.now() - this.lastUpdate >= 1000 : step >= this.nextLine;
  }

  tick(step: number, v: { loss: number; imgs: number }): void {
    this.lastUpdate = performance.now();
    if (this.bar) {
      this.bar.update(step, { loss: v.loss.toFixed(4), imgs: v.imgs.toFixed(1) });
    } else if (step >= this.nextLine || step === this.total) {
      this.log(`${this.label} step ${step}/${this.total} loss ${v.loss.toFixed(4)} ${v.imgs.toFixed(1)} img/s`);
      this.nextLine = step + Math.max(1, Math.ceil(this.total / 10));
    }
  }

  done(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
