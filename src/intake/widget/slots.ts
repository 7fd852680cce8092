import { openIntervals, type BusinessHours } from '../../callbacks/policies/hours.js';

/**
 * The moments a site's callback may ring: inside every schedule that applies (the site's own
 * hours, its call center's hours). No schedule at all means always open.
 */
export class OpenTimes {
  private readonly intervals: Array<Array<[number, number]>>;

  constructor(schedules: readonly BusinessHours[], fromMs: number, days = 8) {
    const until = fromMs + days * 86_400_000;
    this.intervals = schedules.map((hours) => {
      const list: Array<[number, number]> = [];
      for (const interval of openIntervals(hours, fromMs, days + 1)) {
        if (interval[0] > until) break;
        list.push(interval);
      }
      return list;
    });
  }

  /** Whether every schedule is open from `ms` for `forMs`. */
  isOpen(ms: number, forMs = 0): boolean {
    return this.intervals.every((list) => list.some(([start, end]) => start <= ms && ms + forMs <= end));
  }

  /**
   * The slots to offer: every `stepMin` minutes from the first step `leadMin` minutes from now,
   * inside the hours for at least `durationMin`, over `days` days, at most `max`.
   */
  slots(nowMs: number, options: { stepMin?: number; leadMin?: number; days?: number; max?: number; durationMin?: number } = {}): string[] {
    const step = (options.stepMin ?? 30) * 60_000;
    const end = nowMs + (options.days ?? 7) * 86_400_000;
    const duration = (options.durationMin ?? 15) * 60_000;
    const max = options.max ?? 96;
    const out: string[] = [];
    for (let t = Math.ceil((nowMs + (options.leadMin ?? 15) * 60_000) / step) * step; t < end && out.length < max; t += step) {
      if (this.isOpen(t, duration)) out.push(new Date(t).toISOString());
    }
    return out;
  }
}
