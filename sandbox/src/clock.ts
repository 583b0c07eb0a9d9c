// Time and timers behind one interface so tests can drive retries, rate-limit
// refills and token expiry without sleeping.

export type TimerHandle = { readonly id: number } | ReturnType<typeof setTimeout>;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export function createSystemClock(): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => {
      const t = setTimeout(fn, ms);
      // Timers must not keep a CLI or test process alive on their own.
      t.unref?.();
      return t;
    },
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  };
}

export interface ManualClock extends Clock {
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void;
  set(epochMs: number): void;
  /** Delays (ms from now) of timers not yet fired, sorted ascending. */
  pendingDelays(): number[];
}

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

export function createManualClock(startMs: number = Date.now()): ManualClock {
  let current = startMs;
  let nextId = 1;
  const timers = new Map<number, ManualTimer>();

  const fireDue = (): void => {
    for (;;) {
      const due = [...timers.values()].filter((t) => t.at <= current).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) return;
      timers.delete(due.id);
      due.fn();
    }
  };

  return {
    now: () => current,
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.set(id, { id, at: current + Math.max(0, ms), fn });
      return { id };
    },
    clearTimeout: (h) => {
      if (typeof h === 'object' && h !== null && 'id' in h && typeof h.id === 'number') timers.delete(h.id);
    },
    advance: (ms) => {
      current += ms;
      fireDue();
    },
    set: (epochMs) => {
      current = epochMs;
      fireDue();
    },
    pendingDelays: () => [...timers.values()].map((t) => t.at - current).sort((a, b) => a - b),
  };
}
