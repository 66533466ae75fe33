// Issue #17 item 7: one host must not be able to take the node server's sockets. An attacker on
// 127.0.0.2 opens idle sockets far past its per-peer cap and sends slow bodies from 127.0.0.3;
// a legitimate client on 127.0.0.1 is served meanwhile, the attacker's extra sockets are closed
// at once, idle ones after the headers timeout, the slow body after the request timeout.
// Loopback only (Linux routes all of 127.0.0.0/8 to lo), bounded to a few seconds.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionLimitsFromEnv, DEFAULT_CONNECTION_LIMITS } from '../../../adapters/node/connection-limits.ts';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';

/** Opens a socket from `localAddress`; resolves once connected, with a promise of when it closes. */
function openSocket(port: number, localAddress: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const started = performance.now();
    const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now() - started)));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);

describe('node server connection limits', () => {
  let server: LocalServer;
  let port: number;
  const attackers: Socket[] = [];
  beforeAll(async () => {
    server = await startLocalServer({
      port: 0,
      log: () => {},
      demo: false,
      regional: { kind: 'none' },
      connectionLimits: { headersTimeoutMs: 1_500, requestTimeoutMs: 2_500, maxConnectionsPerPeer: 16, maxConnections: 200 },
    });
    port = Number(new URL(server.url).port);
  }, 60_000);
  afterAll(async () => {
    for (const s of attackers) s.destroy();
    await server?.close();
  });

  it('serves a legitimate client during an idle-socket and slow-body attack, and sheds the attack', async () => {
    // 64 idle sockets from one address: 16 are kept (its cap), the rest closed at once.
    const idle = await Promise.all(Array.from({ length: 64 }, () => openSocket(port, '127.0.0.2')));
    attackers.push(...idle.map((s) => s.socket));
    // Slow bodies from another address: headers sent, then a byte at a time.
    const slow = await Promise.all(Array.from({ length: 4 }, () => openSocket(port, '127.0.0.3')));
    attackers.push(...slow.map((s) => s.socket));
    const drips: NodeJS.Timeout[] = [];
    for (const { socket } of slow) {
      socket.write('POST /v1/predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n{"text":"');
      drips.push(setInterval(() => socket.writable && socket.write('a'), 200));
    }
    try {
      const legit = await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Subject: lunch\n\nnoon works' }) });
      expect(legit.status).toBe(200);
      const closedAtOnce = (await Promise.all(idle.map((s) => within(s.closed, 500)))).filter((r) => r !== 'timeout');
      expect(closedAtOnce.length).toBe(64 - 16);
      expect(server.connections().refusedPerPeer).toBe(48);
      // The 16 kept idle sockets never send headers: closed by the headers timeout (1.5 s + one sweep;
      // the window is generous because a loaded 2-core CI machine delays the sweep timer, and the
      // point is "seconds, not Node's 300 s").
      const idleClosed = await Promise.all(idle.map((s) => within(s.closed, 10_000)));
      expect(idleClosed.filter((r) => r === 'timeout')).toEqual([]);
      // The slow bodies: closed by the request timeout (2.5 s + one sweep), not Node's 300 s.
      const slowClosed = await Promise.all(slow.map((s) => within(s.closed, 10_000)));
      expect(slowClosed.filter((r) => r === 'timeout')).toEqual([]);
      // And the legitimate client is still served after the attack.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      for (const d of drips) clearInterval(d);
    }
  }, 45_000);

  it('documents its defaults and refuses bad settings by name', () => {
    expect(DEFAULT_CONNECTION_LIMITS).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 20_000, maxConnectionsPerPeer: 128 });
    expect(connectionLimitsFromEnv({ EDGEINFER_MAX_CONNECTIONS_PER_PEER: '8' }).maxConnectionsPerPeer).toBe(8);
    expect(() => connectionLimitsFromEnv({ EDGEINFER_REQUEST_TIMEOUT_MS: 'soon' })).toThrow(/EDGEINFER_REQUEST_TIMEOUT_MS must be a positive integer/);
    expect(() => connectionLimitsFromEnv({ EDGEINFER_HEADERS_TIMEOUT_MS: '30000' })).toThrow(/must not exceed/);
  });
});
