/**
 * Preloaded into each process the demo supervises (`node --import tsx --import
 * ./scripts/demo/orphan-guard.ts src/main.ts …`): when the supervisor is gone — even
 * SIGKILLed, which no handler of its own can catch — the process stops itself: SIGTERM
 * (its usual graceful shutdown), then SIGKILL 20 s later if that did not finish.
 *
 * The watch runs in a worker thread, not on the main thread: an orphan's stdout and stderr
 * are broken pipes, and we saw an orphaned edge whose main thread stayed blocked (in a
 * futex wait) so that neither its SIGTERM handler nor a timer of its own ever ran. The
 * worker notices the parent is gone by the parent pid changing (the orphan is re-parented),
 * and is unref'd, so it never keeps a process alive that would otherwise exit.
 */
import { Worker } from 'node:worker_threads';

const watch = `
const { workerData } = require('node:worker_threads');
const timer = setInterval(() => {
  if (process.ppid === workerData.parent) return;
  clearInterval(timer);
  try { process.kill(workerData.pid, 'SIGTERM'); } catch {}
  setTimeout(() => { try { process.kill(workerData.pid, 'SIGKILL'); } catch {} }, 20000);
}, 500);
`;
new Worker(watch, { eval: true, workerData: { parent: process.ppid, pid: process.pid } }).unref();
