// Dashboard sign-in (#17 item 11) through `npm start`'s server: the cookie is an expiring
// session signed with a server-side key (not a fixed HMAC of the token, which never expired,
// could not be revoked and let anyone holding it test token guesses offline); rotating
// EDGEINFER_SESSION_KEY revokes every session; a login form posted from another site is
// refused; the Secure flag follows the connection, not the scheme in the request target.
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';
import { DashboardSessions, SESSION_TTL_SECONDS } from '../../../core/telemetry/admin-auth.ts';

const token = 'session-test-admin-token';
const servers: LocalServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function start(sessionKey?: string): Promise<LocalServer> {
  const server = await startLocalServer({ port: 0, log: () => {}, demo: false, config: { adminToken: token, ...(sessionKey ? { sessionKey } : {}) } });
  servers.push(server);
  return server;
}

function login(server: LocalServer, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/dashboard/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: `token=${encodeURIComponent(token)}`,
  });
}

const cookieOf = (response: Response) => (response.headers.get('set-cookie') ?? '').split(';')[0] as string;
const dashboard = (server: LocalServer, cookie: string) => fetch(`${server.url}/dashboard/data`, { headers: { cookie } });

describe('dashboard sessions', () => {
  it('the cookie is no function of the token (no offline oracle), expires, and rotating the key revokes it', async () => {
    const a = await start('key-one-0123456789abcdef0123456789');
    const good = await login(a);
    expect(good.status).toBe(303);
    const setCookie = good.headers.get('set-cookie') as string;
    expect(setCookie).toContain(`Max-Age=${SESSION_TTL_SECONDS}`);
    const cookie = cookieOf(good);
    const value = cookie.slice(cookie.indexOf('=') + 1);
    // Before: HMAC-SHA256(token, "edgeinfer-dashboard"), the same forever and checkable against guesses.
    expect(value).not.toBe(createHmac('sha256', token).update('edgeinfer-dashboard').digest('hex'));
    expect(value).not.toContain(token);
    expect(value).toMatch(/^v1\.\d+\.[0-9a-f]{64}$/);
    expect((await dashboard(a, cookie)).status).toBe(200);

    // Another isolate with the same key accepts it; one with a rotated key does not.
    const sameKey = await start('key-one-0123456789abcdef0123456789');
    expect((await dashboard(sameKey, cookie)).status).toBe(200);
    const rotated = await start('key-two-0123456789abcdef0123456789');
    const refused = await dashboard(rotated, cookie);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/expired or was revoked/);

    // Signed with the right key but expired, or claiming to outlive its lifetime: refused.
    const past = await new DashboardSessions('key-one-0123456789abcdef0123456789', () => Date.now() - (SESSION_TTL_SECONDS + 5) * 1000).issue();
    expect((await dashboard(a, `edgeinfer_dashboard=${past}`)).status).toBe(401);
    const future = await new DashboardSessions('key-one-0123456789abcdef0123456789', () => Date.now() + 7 * 86_400_000).issue();
    expect((await dashboard(a, `edgeinfer_dashboard=${future}`)).status).toBe(401);
    // A tampered expiry breaks the signature.
    const [, expiry, mac] = value.split('.');
    expect((await dashboard(a, `edgeinfer_dashboard=v1.${Number(expiry) - 1}.${mac}`)).status).toBe(401);
  });

  it('without EDGEINFER_SESSION_KEY: a random key per isolate (a restart signs everyone out)', async () => {
    const a = await start();
    const b = await start();
    const cookie = cookieOf(await login(a));
    expect((await dashboard(a, cookie)).status).toBe(200);
    expect((await dashboard(b, cookie)).status).toBe(401);
  });

  it('a login posted from another site is refused; same origin, a typed URL and non-browsers sign in', async () => {
    const server = await start('key-three-0123456789abcdef01234567');
    const own = new URL(server.url);
    for (const headers of <Array<Record<string, string>>>[{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site', origin: own.origin }, { origin: `http://${own.hostname}:1` }]) {
      const response = await login(server, headers);
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(response.headers.get('set-cookie'), JSON.stringify(headers)).toBeNull();
    }
    for (const headers of <Array<Record<string, string>>>[{ origin: own.origin, 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }, {}]) {
      expect((await login(server, headers)).status, JSON.stringify(headers)).toBe(303);
    }
  });

  it('Secure follows the transport: not set over plain HTTP even for an https:// request target; set for an https URL the platform built', async () => {
    const server = await start('key-four-0123456789abcdef012345678');
    const { port } = new URL(server.url);
    const body = `token=${encodeURIComponent(token)}`;
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST https://127.0.0.1:${port}/dashboard/login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 303/);
    const setCookie = /^set-cookie: (.*)$/im.exec(raw)?.[1] ?? '';
    expect(setCookie).toMatch(/^edgeinfer_dashboard=v1\./);
    expect(setCookie).not.toMatch(/Secure/i);
    // An edge platform terminates TLS and builds the https URL itself (no transport reported).
    const edge = await server.service.fetch(new Request('https://edge.example/dashboard/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }));
    expect(edge.headers.get('set-cookie')).toMatch(/; Secure$/);
  });
});
