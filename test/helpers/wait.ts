/**
 * The one way tests, drills and benchmarks wait: on a condition, never a fixed sleep.
 * `check` throws (or rejects) until the condition holds; its last error is what a
 * timeout reports. Inside a vitest test `vi.waitFor` / `expect.poll` do the same; this
 * one also runs where vitest does not (drills, benchmarks).
 */
export interface WaitOptions {
  timeoutMs: number;
  /** Pause between checks. */
  intervalMs?: number;
}

export async function waitUntil<T>(check: () => Promise<T> | T, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
}
