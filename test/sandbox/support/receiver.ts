// A real HTTP webhook receiver for tests: records every request and answers with a
// status chosen per request (default 204).

import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Decides the answer status for the nth (0-based) request. */
  respond: (req: ReceivedRequest, index: number) => number;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(respond: Receiver['respond'] = () => 204): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const waiters: Array<() => void> = [];
  const receiver: Receiver = {
    url: '',
    requests,
    respond,
    waitFor(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (requests.length < count) return false;
          clearTimeout(timer);
          resolve();
          return true;
        };
        const timer = setTimeout(() => reject(new Error(`only ${requests.length}/${count} webhook requests arrived`)), timeoutMs);
        const wait = (): void => {
          if (!check()) waiters.push(wait);
        };
        wait();
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: ReceivedRequest = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      const index = requests.length;
      requests.push(r);
      res.statusCode = receiver.respond(r, index);
      res.end();
      for (const w of waiters.splice(0)) w();
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
