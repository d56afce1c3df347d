/** A sleep that stop() cuts short, and every later one too. Every sleep ends by its timer at the latest. */
export class StoppableSleep {
  private current?: { readonly end: () => void };
  private stopped = false;

  /** Resolves after `ms`, or at once when stopped. */
  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        if (this.current === current) this.current = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      const current = { end };
      this.current = current;
    });
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
