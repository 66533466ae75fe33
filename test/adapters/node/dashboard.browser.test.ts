// The telemetry dashboard in real headless Chromium (Debian's, driven by playwright-core):
// after scripted traffic over several one-second windows, the page shows the same numbers as
// /dashboard/data, draws every chart, fetches nothing else and runs no script; with an admin
// token, the login form sets an HttpOnly cookie that opens it. Screenshot: test/artifacts/dashboard.png.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';
import type { DashboardData } from '../../../core/telemetry/dashboard-data.ts';
import { ms, pct, usd } from '../../../core/telemetry/dashboard-html.ts';
import { CHROMIUM_ARGS, chromiumPath } from '../../helpers/require-chromium.ts';
import { sendScriptedTraffic, type ObservedTraffic } from '../../helpers/scripted-traffic.ts';

const executablePath = chromiumPath('telemetry dashboard in Chromium');
const ARTIFACTS = join(process.cwd(), 'test', 'artifacts');
// The example models, with spam-edge served as versions 1 and 2 (the same graph) for a rollout.
const repo = mkdtempSync(join(tmpdir(), 'edgeinfer-dashboard-models-'));
cpSync(join(process.cwd(), 'models', 'spam-regional', '1'), join(repo, 'spam-regional', '1'), { recursive: true });
for (const version of ['1', '2']) {
  cpSync(join(process.cwd(), 'models', 'spam-edge', '1'), join(repo, 'spam-edge', version), { recursive: true });
  const manifestPath = join(repo, 'spam-edge', version, 'model.json');
  writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(readFileSync(manifestPath, 'utf8')), version }));
}
const rollout = { 'spam-edge': { split: { '1': 70, '2': 30 }, canary: { version: '2', minRequests: 10_000 } } };
const config = { cascade: { measure: 'top' as const, budgetMs: 5_000, maxInFlight: 64, circuit: { failures: 5, windowMs: 10_000, halfOpenAfterMs: 5_000 } } };

describe.skipIf(executablePath === null)('telemetry dashboard in headless Chromium', () => {
  let server: LocalServer;
  let secured: LocalServer;
  let context: BrowserContext;
  let page: Page;
  const observed: ObservedTraffic[] = [];
  const profile = mkdtempSync(join(tmpdir(), 'edgeinfer-chromium-'));
  const foreignRequests: string[] = [];
  const consoleMessages: string[] = [];

  beforeAll(async () => {
    // One-second windows, so a few seconds of traffic draw a time series.
    server = await startLocalServer({ port: 0, log: () => {}, config, modelsRoot: repo, rollout, telemetry: { windowMs: 1_000 } });
    secured = await startLocalServer({ port: 0, log: () => {}, config: { ...config, adminToken: 'dashboard-test-token' } });
    const fetchFn = (request: Request) => fetch(request);
    for (let batch = 0; batch < 3; batch++) {
      observed.push(await sendScriptedTraffic(fetchFn, server.url, 40 + batch * 20, 10 * (batch + 1)));
      await new Promise((resolve) => setTimeout(resolve, 1_100));
    }
    context = await chromium.launchPersistentContext(profile, { executablePath: executablePath as string, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 1000 } });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url) && !request.url().startsWith(secured.url)) foreignRequests.push(request.url());
    });
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    await server?.close();
    await secured?.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it('shows the numbers of /dashboard/data: predictions, p50/p95/p99, cache hit ratio, escalation rate, cost per 1k', async () => {
    const response = await page.goto(`${server.url}/dashboard`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('edgeinfer dashboard');
    const data = (await (await fetch(`${server.url}/dashboard/data`)).json()) as DashboardData;
    const predictions = observed.reduce((n, o) => n + o.predictions, 0);
    const cached = observed.reduce((n, o) => n + o.cached, 0);
    const escalated = observed.reduce((n, o) => n + o.escalated, 0);
    expect(data.totals.predictions).toBe(predictions);
    const tile = (id: string) => page.locator(`#${id}`).textContent();
    expect(await tile('predictions')).toBe(String(predictions));
    expect(await tile('cache-hit-ratio')).toBe(pct(cached / predictions));
    expect(await tile('escalation-rate')).toBe(pct(escalated / predictions));
    for (const q of ['p50', 'p95', 'p99'] as const) expect(await tile(q)).toBe(ms(data.totals[q]));
    expect(await tile('cost-per-1k')).toBe(usd(data.totals.costPer1kUsd));
    // The page was rendered before its own request was counted: the scripted requests only.
    expect(await tile('errors')).toBe(`9 / ${predictions + 9}`);
    expect(await page.locator('#scope').textContent()).toBe('this isolate');
  });

  it('draws the time series (one point per window), the label distribution per version, and needs nothing else', async () => {
    const data = (await (await fetch(`${server.url}/dashboard/data`)).json()) as DashboardData;
    const withTraffic = data.series.filter((p) => p.predictions > 0).length;
    expect(withTraffic).toBeGreaterThanOrEqual(3);
    for (const series of ['p50', 'p95', 'p99']) {
      const points = await page.locator(`#chart-latency path[data-series="${series}"]`).getAttribute('d');
      expect(points?.match(/[ML]/g)?.length).toBe(withTraffic);
    }
    for (const id of ['cache', 'escalation', 'cost']) expect(await page.locator(`#chart-${id} path`).count()).toBeGreaterThanOrEqual(1);
    const labels = observed.reduce<Record<string, number>>((acc, o) => {
      for (const [label, n] of Object.entries(o.labels['spam-edge@1'] ?? {})) acc[label] = (acc[label] ?? 0) + n;
      return acc;
    }, {});
    for (const [label, n] of Object.entries(labels)) {
      expect(await page.locator(`#labels tr[data-arm="spam-edge@1"] td[data-label="${label}"]`).textContent()).toMatch(new RegExp(`^${n} \\(`));
    }
    expect(await page.locator('#chart-labels rect').count()).toBeGreaterThanOrEqual(2);
    // The rollout table: both arms, their traffic share and the canary's state, requests as counted.
    for (const arm of data.rollout) {
      const row = page.locator(`#rollout tr[data-arm="spam-edge@${arm.version}"]`);
      expect(await row.locator('td[data-col="weight"]').textContent()).toBe(pct(arm.weight));
      expect(await row.locator('td[data-col="requests"]').textContent()).toBe(String(arm.requests));
    }
    expect(data.rollout.map((a) => [a.version, a.role])).toEqual([['1', 'baseline'], ['2', 'running']]);
    // Requests that failed before a version was chosen (bad JSON, unknown model) belong to no arm.
    expect((data.rollout[0]?.requests ?? 0) + (data.rollout[1]?.requests ?? 0)).toBe(data.totals.predictions);
    expect(await page.locator('script').count()).toBe(0);
    expect(foreignRequests).toEqual([]);
    expect(consoleMessages).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  });

  it('with an admin token: the login form sets an HttpOnly cookie that opens the dashboard; a wrong token is refused', async () => {
    const first = await page.goto(`${secured.url}/dashboard`);
    expect(first?.status()).toBe(401);
    await page.fill('input[name="token"]', 'wrong');
    await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')]);
    expect(await page.locator('#message').textContent()).toMatch(/does not match/);
    await page.fill('input[name="token"]', 'dashboard-test-token');
    const [navigation] = await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(navigation?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/dashboard');
    expect(await page.locator('#predictions').textContent()).toBe('0');
    // HttpOnly: the page's script context cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const cookies = await context.cookies(secured.url + '/dashboard');
    expect(cookies.find((c) => c.name === 'edgeinfer_dashboard')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });
});
