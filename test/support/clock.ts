import type { Clock } from "../../src/app/kernel/clock.js";

/** A clock that moves only when the test says so. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start: Date | string = "2026-11-02T09:00:00.000Z") {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): Date {
    this.current += ms;
    return this.now();
  }
  set(at: Date | string): void {
    this.current = new Date(at).getTime();
  }
}
