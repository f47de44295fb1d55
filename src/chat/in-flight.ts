/**
 * Counts the handlers still working after their platform was answered, so stop() (and tests) can
 * wait for them, and for every card they changed to be redrawn.
 */
export class InFlight {
  private count = 0;
  private readonly drained: (() => void)[] = [];

  constructor(private readonly redrawn: () => Promise<void>) {}

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      if (--this.count === 0) for (const done of this.drained.splice(0)) done();
    }
  }

  async idle(): Promise<void> {
    do {
      if (this.count > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
      await this.redrawn();
    } while (this.count > 0);
  }
}
