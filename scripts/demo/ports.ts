/**
 * Which ports the demo needs are free, and if not, who holds them — before anything
 * starts (issue 13: a consumers process left over from a failed run held :3002 and the
 * next run lost its consumers to EADDRINUSE without saying why).
 *
 * The holder is found the way `ss -ltnp` finds it, without needing iproute2: the
 * listening sockets of /proc/net/tcp{,6} (state 0A = LISTEN, proc(5)) give the socket
 * inode of the port, and the process whose /proc/<pid>/fd links to `socket:[inode]` holds
 * it. Processes of other users are not readable: then we say so.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

export interface PortHolder {
  pid: number;
  command: string;
}

const LISTEN = '0A';

/** Socket inodes listening on `port` (IPv4 and IPv6, any address). */
export function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const local = cols[1];
      if (local === undefined || cols[3] !== LISTEN) continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && cols[9] !== undefined) inodes.add(cols[9]);
    }
  }
  return inodes;
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || '?';
  } catch {
    return '?';
  }
}

/** The processes (that this user may inspect) listening on `port`. */
export function portHolders(port: number): PortHolder[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    const holds = fds.some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`));
        return m !== null && inodes.has(m[1]!);
      } catch {
        return false;
      }
    });
    if (holds) holders.push({ pid: Number(entry), command: commandOf(Number(entry)) });
  }
  return holders;
}

/** True when `host:port` can be bound right now. */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** One sentence per port that is taken, naming what holds it; empty when all are free. */
export async function portProblems(ports: Readonly<Record<string, number>>, host = '127.0.0.1'): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, port] of Object.entries(ports)) {
    if (await canBind(port, host)) continue;
    const holders = portHolders(port);
    const who = holders.length > 0
      ? holders.map((h) => `pid ${h.pid} (${h.command.slice(0, 300)})`).join(', ')
      : 'something this user cannot name (another user\'s process, another network namespace, or an open connection\'s local port)';
    problems.push(`port ${port} (${name}) is already in use by ${who}`);
  }
  return problems;
}
