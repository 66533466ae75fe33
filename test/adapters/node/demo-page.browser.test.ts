// The demo page of `npm start` in real headless Chromium (Debian's, driven by playwright-core):
// the page loads with no external requests; the browser client's ids equal the server's for
// 100 corpus messages; local-mode and server-mode answers agree; the UI shows a local answer
// (screenshot in test/artifacts/demo-page.png).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';
import type { LoadedModel } from '../../../core/serving/loaded-model.ts';
import { loadSplits } from '../../../models/training/dataset.ts';
import { CHROMIUM_ARGS, chromiumPath } from '../../helpers/require-chromium.ts';

const executablePath = chromiumPath('demo page in Chromium');
const ARTIFACTS = join(process.cwd(), 'test', 'artifacts');
// 100 test-split messages short enough to travel as text when they escalate (64 KB body limit).
const messages = loadSplits()
  .test.filter((m) => m.text.length < 30_000)
  .slice(0, 100);

interface PageAnswer {
  label: string;
  scores: Record<string, number>;
  tier: string;
  degraded: boolean;
  answeredBy: string;
  requests: number;
  model: { name: string };
}

describe.skipIf(executablePath === null)('demo page in headless Chromium', () => {
  let server: LocalServer;
  let edge: LoadedModel;
  let context: BrowserContext;
  let page: Page;
  const profile = mkdtempSync(join(tmpdir(), 'edgeinfer-chromium-'));
  const outDir = mkdtempSync(join(tmpdir(), 'edgeinfer-demo-'));
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await startLocalServer({ port: 0, log: () => {}, demo: { outDir } });
    edge = await server.service.context.requireModel('spam-edge');
    context = await chromium.launchPersistentContext(profile, { executablePath: executablePath as string, headless: true, args: CHROMIUM_ARGS });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url)) foreignRequests.push(request.url());
    });
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await server?.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  it('loads from the server alone and gets ready', async () => {
    const response = await page.goto(`${server.url}/`);
    expect(response?.status()).toBe(200);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    expect(await page.title()).toBe('edgeinfer demo');
    expect(await page.locator('#status').textContent()).toBe('server mode');
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("the browser client's ids equal the server's for 100 corpus messages", async () => {
    const texts = messages.map((m) => m.text);
    const fromBrowser = await page.evaluate(async (all) => {
      const client = (window as any).edgeinferDemo.state.client;
      const out: number[][] = [];
      for (const text of all) out.push(Array.from((await client.preprocess(text)).ids as Int32Array));
      return out;
    }, texts);
    expect(fromBrowser).toHaveLength(100);
    const mismatched = texts.filter((text, i) => JSON.stringify(fromBrowser[i]) !== JSON.stringify(Array.from(edge.preprocessor.toIds(text))));
    expect(mismatched).toHaveLength(0);
    expect(fromBrowser.every((ids) => ids.length > 0)).toBe(true);
  });

  it('local-mode and server-mode answers agree; only the unsure cases reach the endpoint', async () => {
    const texts = messages.map((m) => m.text);
    const { local, remote, stats } = await page.evaluate(async (all) => {
      const demo = (window as any).edgeinferDemo;
      await demo.setLocalMode(true);
      const local: unknown[] = [];
      const remote: unknown[] = [];
      for (const text of all) {
        local.push(await demo.state.local.predict(text));
        remote.push(await demo.state.client.predict(text));
      }
      return { local, remote, stats: demo.state.local.stats() };
    }, texts);
    const l = local as PageAnswer[];
    const r = remote as PageAnswer[];
    let answeredLocally = 0;
    for (let i = 0; i < l.length; i++) {
      const [mine, theirs] = [l[i] as PageAnswer, r[i] as PageAnswer];
      expect(mine.label, `message ${i}`).toBe(theirs.label);
      if (mine.answeredBy === 'local') {
        answeredLocally++;
        expect(theirs).toMatchObject({ tier: 'edge', degraded: false, requests: 1 });
        for (const label of ['ham', 'spam']) expect(mine.scores[label]).toBeCloseTo(theirs.scores[label] as number, 5);
      } else {
        // The server's cascade escalated the same message: its ids came back text_required.
        expect(theirs.requests).toBe(2);
        expect(mine).toMatchObject({ tier: theirs.tier, requests: 1 });
      }
    }
    expect(answeredLocally).toBeGreaterThan(80);
    expect(answeredLocally).toBeLessThan(100);
    expect(stats).toMatchObject({ predictions: 100, answeredLocally, endpointRequests: 100 - answeredLocally, textRequests: 100 - answeredLocally });
    expect(pageErrors).toEqual([]);
  });

  it('the second example: a form from the fields model signature, answered with the features it used and where they came from', async () => {
    // The form lists the model's request fields, filled from its first warmup request (model.json).
    const inputs = await page.locator('#fieldsForm input[data-field]').evaluateAll((els) => els.map((e) => [(e as HTMLInputElement).dataset.field, (e as HTMLInputElement).value]));
    expect(Object.fromEntries(inputs)).toEqual({ hour: '17', day_of_week: '1', distance: '733', origin: 'ORD', destination: 'LGA' });
    await page.locator('#fieldsForm input[data-field="destination"]').fill('BOS');
    // No Upstash behind this server: every view falls back to its declared default, and the answer says so.
    await page.locator('#predictFields').click();
    await page.waitForFunction(() => document.getElementById('fieldsLabel')?.textContent !== '–' || document.getElementById('fieldsError')?.textContent);
    expect(await page.locator('#fieldsError').textContent()).toBe('');
    const label = await page.locator('#fieldsLabel').textContent();
    expect(['on_time', 'delayed']).toContain(label);
    const badges = await page.locator('#fieldsBadges').textContent();
    expect(badges).toContain('degraded: features_unavailable');
    // The same request straight to the server: the page shows its answer.
    const direct = await fetch(`${server.url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fields: { origin: 'ORD', destination: 'BOS', hour: 17, day_of_week: 1, distance: 733 }, explain: true }),
    });
    const answer = (await direct.json()) as { label: string; scores: Record<string, number>; model: { name: string; version: string }; features: Record<string, { entity: string | null; source: string }> };
    expect(direct.status).toBe(200);
    expect(badges).toContain(`model ${answer.model.name}@${answer.model.version}`);
    expect(label).toBe(answer.label);
    expect(await page.locator('#fieldsProbability').textContent()).toContain(`P(delayed) ${(answer.scores.delayed as number).toFixed(3)}`);
    const rows = await page.locator('#fieldsFeatures tr').evaluateAll((trs) => trs.slice(1).map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
    expect(rows.map((r) => [r[0], r[1], r[2]])).toEqual(Object.entries(answer.features).map(([view, f]) => [view, f.entity ?? '(none)', f.source]));
    expect(rows.find((r) => r[0] === 'route')?.[1]).toBe('ORD|BOS');
    expect(pageErrors).toEqual([]);
  });

  it('the UI shows a local answer with tier, cache state, degraded flag and timings (screenshot)', async () => {
    await page.locator('#local').check();
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'local model loaded');
    await page.locator('#text').fill('Subject: FREE money!!! Act now\nFrom: deals@promo.example\n\nClick here to claim your $1000 prize, limited offer, buy now!');
    await page.locator('#predict').click();
    await page.waitForFunction(() => document.getElementById('label')?.textContent !== '–');
    const badges = await page.locator('#badges').textContent();
    expect(badges).toContain('answered by local');
    expect(badges).toContain('tier edge');
    expect(badges).toContain('not degraded');
    expect(await page.locator('#label').textContent()).toBe('spam');
    expect(await page.locator('#details').textContent()).toMatch(/client timings.*preprocessMs/);
    expect(await page.locator('#stats').textContent()).toMatch(/answered in the page/);
    // Server mode: the answer comes from the endpoint with its cache state and server timings.
    await page.locator('#local').uncheck();
    await page.locator('#predict').click();
    await page.waitForFunction(() => document.getElementById('badges')?.textContent?.includes('answered by endpoint'));
    expect(await page.locator('#details').textContent()).toMatch(/cache.*level .*policy/);
    expect(await page.locator('#details').textContent()).toMatch(/server timings.*inferMs/);
    await page.locator('#local').check();
    await page.locator('#predict').click();
    await page.waitForFunction(() => document.getElementById('badges')?.textContent?.includes('answered by local'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const png = await page.screenshot({ path: join(ARTIFACTS, 'demo-page.png'), fullPage: true });
    expect(png.byteLength).toBeGreaterThan(10_000);
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
