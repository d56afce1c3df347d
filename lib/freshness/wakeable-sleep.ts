/**
 * A sleep that can be cut short: by wake() when the sleeper said it may be (a change was announced),
 * and always by stop(). Every sleep ends by its timer at the latest.
 */
export class WakeableSleep {
  private current?: { readonly wakeable: boolean; readonly end: () => void };
  private stopped = false;

  /** Resolves after `ms`, or sooner when woken (if `wakeable`) or stopped. Resolves at once once stopped. */
  sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        if (this.current === current) this.current = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      const current = { wakeable, end };
      this.current = current;
    });
  }

  /** Ends the current sleep if it may be woken. */
  wake(): void {
    if (this.current?.wakeable) this.current.end();
  }

  /** Ends the current sleep, and every later one at once. */
  stop(): void {
    this.stopped = true;
    this.current?.end();
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}
