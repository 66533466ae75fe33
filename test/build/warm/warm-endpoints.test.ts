// The warmer against real servers: two local "PoPs" (node servers over the edge models,
// models not loaded yet) answer cold on the first round and warm on the second; an
// unreachable endpoint and a wrong token count as failures; the CLI prints the same.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalService } from '../../../adapters/node/local-service.ts';
import { createRequestListener } from '../../../adapters/node/node-http.ts';
import { parseInterval, parseTargets, reportByLocation, warmEndpoints, warmUrl } from '../../../build/warm/warm-endpoints.ts';
import type { InferenceService } from '../../../core/handler.ts';
import { REPO_ROOT } from '../../../build/pipeline.ts';
import { edgeModelsRoot } from '../../runtime/conformance.ts';

const TOKEN = 'warm-test-token';
const pops: Array<{ url: string; server: Server; service: InferenceService }> = [];

async function startPop(): Promise<(typeof pops)[number]> {
  const service = createLocalService({ modelsRoot: edgeModelsRoot(), micro: true, regional: { kind: 'none' }, config: { adminToken: TOKEN } });
  const server = createServer(createRequestListener(service, '127.0.0.1', new Set()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, service };
}

beforeAll(async () => {
  pops.push(await startPop(), await startPop());
});

afterAll(async () => {
  for (const pop of pops) {
    await new Promise<void>((resolve) => pop.server.close(() => resolve()));
    await pop.service.close();
  }
});

describe('warmEndpoints', () => {
  it('finds both isolates cold, then warm; reports the server steps', async () => {
    const first = await warmEndpoints(pops.map((p) => p.url), TOKEN);
    expect(first.summary).toEqual({ cold: 2, warm: 0, failed: 0 });
    for (const result of first.results) {
      expect(result.status).toBe(200);
      expect(Object.keys(result.steps!)).toEqual(['load_models', 'warmup_inference']);
      expect(result.serverMs).toBeGreaterThan(0);
    }
    const second = await warmEndpoints(pops.map((p) => p.url), TOKEN);
    expect(second.summary).toEqual({ cold: 0, warm: 2, failed: 0 });
  });

  it('counts an unreachable endpoint and a wrong token as failures, with the reason', async () => {
    const { results, summary } = await warmEndpoints(['http://127.0.0.1:1', pops[0]!.url], 'wrong-token', { timeoutMs: 5_000 });
    expect(summary).toEqual({ cold: 0, warm: 0, failed: 2 });
    expect(results[0]!.status).toBe('error');
    expect(results[1]!.status).toBe(403);
    expect(results[1]!.error).toMatch(/^forbidden: /);
  });

  it('builds the /_warm URL and parses intervals', () => {
    expect(warmUrl('https://a.example')).toBe('https://a.example/_warm');
    expect(warmUrl('https://a.example/base/')).toBe('https://a.example/base/_warm');
    expect(warmUrl('https://a.example/_warm')).toBe('https://a.example/_warm');
    expect(parseInterval('5m')).toBe(300_000);
    expect(parseInterval('30s')).toBe(30_000);
    expect(() => parseInterval('5 minutes')).toThrow('--every takes a duration like 30s, 5m or 1h');
  });
});

describe('npm run warm', () => {
  it('runs rounds, prints a summary per round and one JSON line last', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'build/warm/main.ts', '--url', pops[0]!.url, '--url', pops[1]!.url, '--rounds', '2', '--every', '1s'],
      { cwd: REPO_ROOT, env: { ...process.env, EDGEINFER_ADMIN_TOKEN: TOKEN } },
    );
    const lines = stdout.trim().split('\n');
    expect(lines).toContain('round 2: 0 cold, 2 warm, 0 failed');
    const summary = JSON.parse(lines.at(-1)!);
    expect(summary.warm).toEqual({ cold: 0, warm: 4, failed: 0, rounds: 2 });
    expect(summary.last.map((r: { status: number }) => r.status)).toEqual([200, 200]);
  });

  it('exits 2 naming EDGEINFER_ADMIN_TOKEN when it is missing', async () => {
    const env = { ...process.env };
    delete env.EDGEINFER_ADMIN_TOKEN;
    const failure = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'build/warm/main.ts', '--url', pops[0]!.url], { cwd: REPO_ROOT, env }).catch((e: unknown) => e);
    expect((failure as { code: number }).code).toBe(2);
    expect((failure as { stderr: string }).stderr).toContain('EDGEINFER_ADMIN_TOKEN is not set');
  });
});

// A stand-in CloudFront location: /_warm goes to one service as the viewer-request function,
// /_warm/origin-request to another as the origin-request function, each answer carrying the
// headers the real ones carry (x-amz-cf-pop from CloudFront, x-edgeinfer-function from the adapter).
describe('location-pinned URLs, per location and function', () => {
  let location: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    const viewer = createLocalService({ modelsRoot: edgeModelsRoot(), micro: true, regional: { kind: 'none' }, config: { adminToken: TOKEN } });
    const origin = createLocalService({ modelsRoot: edgeModelsRoot(), micro: true, regional: { kind: 'none' }, config: { adminToken: TOKEN } });
    const server = createServer(async (req, res) => {
      const fn = req.url === '/_warm/origin-request' ? 'origin-request' : 'viewer-request';
      const service = fn === 'origin-request' ? origin : viewer;
      const response = await service.fetch(new Request(`http://x/_warm`, { headers: { authorization: String(req.headers.authorization ?? '') } }));
      res.writeHead(response.status, { 'content-type': 'application/json', 'x-amz-cf-pop': 'FRA56-P1', 'x-edgeinfer-function': fn });
      res.end(await response.text());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    location = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await viewer.close();
        await origin.close();
      },
    };
  });
  afterAll(() => location.close());

  it('--provider lambda-edge warms both triggers at each location and reports where it was answered', async () => {
    const targets = parseTargets([`fra=${location.url}`, `# a comment`, ''], 'lambda-edge');
    expect(targets.map((t) => `${t.location} ${t.function} ${t.path}`)).toEqual(['fra viewer-request /_warm', 'fra origin-request /_warm/origin-request']);
    const first = await warmEndpoints(targets, TOKEN);
    const second = await warmEndpoints(targets, TOKEN);
    const rows = reportByLocation([...first.results, ...second.results]);
    expect(rows).toEqual([
      { location: 'fra', function: 'viewer-request', cold: 1, warm: 1, failed: 0, answeredFrom: ['FRA56-P1'] },
      { location: 'fra', function: 'origin-request', cold: 1, warm: 1, failed: 0, answeredFrom: ['FRA56-P1'] },
    ]);
  });

  it('an answer from the wrong function is a failure that says so', async () => {
    const [viewer] = parseTargets([`fra=${location.url}`], 'lambda-edge');
    const { results } = await warmEndpoints([{ ...viewer!, function: 'origin-request' }], TOKEN);
    expect(results[0]!.error).toContain('answered by the viewer-request function, not origin-request');
  });

  it('the CLI reads a --urls file and prints one row per location and function', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'edgeinfer-warm-')), 'urls.txt');
    writeFileSync(file, `fra=${location.url}\n`);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'build/warm/main.ts', '--urls', file, '--provider', 'lambda-edge'], { cwd: REPO_ROOT, env: { ...process.env, EDGEINFER_ADMIN_TOKEN: TOKEN } });
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(summary.byLocation.map((r: { location: string; function: string; failed: number; answeredFrom: string[] }) => [r.location, r.function, r.failed, r.answeredFrom])).toEqual([
      ['fra', 'viewer-request', 0, ['FRA56-P1']],
      ['fra', 'origin-request', 0, ['FRA56-P1']],
    ]);
    expect(stdout).toMatch(/fra\s+origin-request\s+\d+\s+\d+\s+0\s+FRA56-P1/);
  });
});
