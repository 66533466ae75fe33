// edgeinfer/client in Node against the real local server (real fetch, example models),
// using the bundles build/client writes: server mode sends ids, local mode answers the
// confident cases with the micro-compiled edge model and sends only the unsure ones.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CASCADE_CONFIG, edgeConfidencePolicy } from '../../core/router/cascade.ts';
import { assessConfidence } from '../../core/router/confidence.ts';
import { startLocalServer, type LocalServer } from '../../adapters/node/server.ts';
import { buildClient, type ClientBuild } from '../../build/client/build-client.ts';
import type * as ClientModule from '../../client/index.ts';
import type { MicroModule } from '../../core/engine/micro/types.ts';
import type { ModelManifest } from '../../core/model/manifest.ts';
import type { LoadedModel } from '../../core/serving/loaded-model.ts';
import { loadSplits } from '../../models/training/dataset.ts';

const outDir = mkdtempSync(join(tmpdir(), 'edgeinfer-client-'));
let server: LocalServer;
let build: ClientBuild;
let lib: typeof ClientModule;
let bundled: { manifest: ModelManifest; module: MicroModule };
let edge: LoadedModel;
// Messages short enough to travel as text when they escalate (the body limit is 64 KB).
const messages = loadSplits()
  .test.filter((m) => m.text.length < 30_000)
  .slice(0, 80);

beforeAll(async () => {
  build = await buildClient({ outDir, model: 'spam-edge' });
  // The bundles, as a browser or Node app would load them.
  lib = (await import(pathToFileURL(join(outDir, build.client.file)).href)) as typeof ClientModule;
  bundled = await import(pathToFileURL(join(outDir, build.model.file)).href);
  // A generous regional budget: the escalation assertions are not about timing, and a loaded CI machine can
  // take longer than the default 250 ms for an in-process regional call.
  server = await startLocalServer({ port: 0, log: () => {}, demo: false, cache: { EDGEINFER_CACHE_POLICY: 'off' }, config: { cascade: { ...DEFAULT_CASCADE_CONFIG, budgetMs: 10_000 } } });
  edge = await server.service.context.requireModel('spam-edge');
});
afterAll(async () => {
  await server?.close();
  rmSync(outDir, { recursive: true, force: true });
});

describe('edgeinfer/client', () => {
  it('server mode: ids from the params GET /v2/models serves equal the server\'s; answers match the text path', async () => {
    const requests: string[] = [];
    const client = lib.createClient({
      endpoint: server.url,
      model: 'spam-edge',
      fetch: (input, init) => {
        requests.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
        return fetch(input, init);
      },
    });
    for (const m of messages.slice(0, 20)) {
      const { ids, preprocessing } = await client.preprocess(m.text);
      expect(Array.from(ids)).toEqual(Array.from(edge.preprocessor.toIds(m.text)));
      expect(preprocessing).toMatchObject({ id: 'email-hash', version: 2, fingerprint: expect.stringMatching(/^[0-9a-f]{8}$/) });
    }
    expect(requests).toEqual(['GET /v2/models/spam-edge']);
    let escalated = 0;
    for (const m of messages.slice(0, 20)) {
      const answer = await client.predict(m.text);
      const viaText = (await (await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: m.text }) })).json()) as Record<string, any>;
      expect(answer.label).toBe(viaText.label);
      expect(answer.tier).toBe(viaText.tier);
      expect(answer.scores).toEqual(viaText.scores);
      expect(answer.answeredBy).toBe('endpoint');
      // Unsure at the edge: ids came back text_required, then the text went to the regional model.
      expect(answer.requests).toBe(answer.tier === 'regional' ? 2 : 1);
      if (answer.tier === 'regional') escalated++;
    }
    const stats = client.stats();
    expect(stats.endpointRequests).toBe(20 + escalated);
    expect(stats.textRequests).toBe(escalated);
  });

  it('local mode: confident cases never reach the endpoint and equal the server\'s edge answer; unsure ones escalate with the text', async () => {
    const local = lib.createLocalModel(bundled.manifest, bundled.module);
    const posts: unknown[] = [];
    const client = lib.createClient({
      endpoint: server.url,
      local,
      fetch: (input, init) => {
        posts.push(JSON.parse(String(init?.body)));
        return fetch(input, init);
      },
    });
    expect(client.localMode).toBe(true);
    const server_ = lib.createClient({ endpoint: server.url, model: 'spam-edge' });
    let answeredLocally = 0;
    for (const m of messages) {
      const [mine, theirs] = [await client.predict(m.text), await server_.predict(m.text)];
      expect(mine.label).toBe(theirs.label);
      if (mine.answeredBy === 'local') {
        answeredLocally++;
        // The server saw the same ids as confident: same tier, same probabilities (micro vs ort-node).
        expect(theirs).toMatchObject({ tier: 'edge', degraded: false, requests: 1 });
        for (const label of ['ham', 'spam']) expect(mine.scores[label]).toBeCloseTo(theirs.scores[label] as number, 5);
        expect(mine.requests).toBe(0);
      } else {
        // The server's own policy escalated the same message.
        expect(theirs.requests).toBe(2);
        expect(mine).toMatchObject({ tier: 'regional', requests: 1, model: { name: 'spam-regional' } });
      }
    }
    expect(answeredLocally).toBeGreaterThan(messages.length * 0.8);
    expect(answeredLocally).toBeLessThan(messages.length);
    expect(posts).toHaveLength(messages.length - answeredLocally);
    expect(posts.every((p) => typeof (p as { text?: unknown }).text === 'string')).toBe(true);
    expect(client.stats()).toMatchObject({ predictions: messages.length, answeredLocally, endpointRequests: messages.length - answeredLocally });
  });

  it('local mode without sending text: unsure answers stay local, degraded text_required', async () => {
    const local = lib.createLocalModel(bundled.manifest, bundled.module);
    const client = lib.createClient({ endpoint: 'http://127.0.0.1:9', local, sendTextWhenUnsure: false });
    const answers = await Promise.all(messages.map((m) => client.predict(m.text)));
    const unsure = answers.filter((a) => a.degraded);
    expect(unsure.length).toBeGreaterThan(0);
    expect(unsure.every((a) => a.reason === 'text_required' && a.tier === 'edge' && a.answeredBy === 'local')).toBe(true);
    expect(client.stats().endpointRequests).toBe(0);
  });

  it('a client with stale params (same id and version, other buckets) gets 409, takes the server\'s params once and answers right', async () => {
    const pinned = { ...edge.manifest.preprocessing!, params: { ...(edge.manifest.preprocessing!.params as object), buckets: 4096 } };
    const seen: string[] = [];
    const client = lib.createClient({
      endpoint: server.url,
      model: 'spam-edge',
      preprocessing: pinned,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        seen.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname} ${response.status}`);
        return response;
      },
    });
    const text = messages[0]!.text;
    const answer = await client.predict(text);
    expect(seen.slice(0, 3)).toEqual(['POST /v1/predict 409', 'GET /v2/models/spam-edge 200', 'POST /v1/predict 200']);
    expect(answer.requests).toBe(seen.filter((s) => s.startsWith('POST')).length);
    const viaText = (await (await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) })).json()) as Record<string, any>;
    expect(answer.scores).toEqual(viaText.scores);
    expect(Array.from((await client.preprocess(text)).ids)).toEqual(Array.from(edge.preprocessor.toIds(text)));
  });

  it('refuses a compiled module from another model, a stale preprocessing (409) and empty text', async () => {
    expect(() => lib.createLocalModel({ ...bundled.manifest, sha256: 'ab'.repeat(32) }, bundled.module)).toThrow(/rebuild the client bundle/);
    const stale = lib.createClient({ endpoint: server.url, preprocessing: { ...edge.manifest.preprocessing!, version: 3 } });
    // This build has no v3 email-hash: the client refuses to make ids it cannot make.
    await expect(stale.predict('hello')).rejects.toThrow(/unsupported preprocessing email-hash@3/);
    const error = await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: [1], preprocessing: { id: 'email-hash', version: 3 } }) });
    expect(error.status).toBe(409);
    const client = lib.createClient({ endpoint: server.url, model: 'spam-edge' });
    await expect(client.predict('   ')).rejects.toThrow(/non-empty string/);
    // No model is special: a client that knows neither the model nor its preprocessing is refused.
    expect(() => lib.createClient({ endpoint: server.url })).toThrow(/name the model/);
    const unknown = lib.createClient({ endpoint: server.url, model: 'no-such-model' });
    await expect(unknown.predict('hello')).rejects.toMatchObject({ name: 'EdgeInferError', status: 404, code: 'model_not_found' });
  });

  it('normalises as the server does (one implementation): disguised copies of a text make its ids, locally and in server mode', async () => {
    const local = lib.createLocalModel(bundled.manifest, bundled.module);
    const client = lib.createClient({ endpoint: server.url, model: 'spam-edge' });
    // No header block: a disguised "Subject:" would be no header line, in either version.
    const text = 'FREE money! Claim your prize now, click here';
    const fullwidth = text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    const zeroWidth = text.replace(/(\w)(?=\w)/g, '$1\u200B');
    for (const disguised of [fullwidth, zeroWidth]) {
      expect(Array.from(local.preprocessor.toIds(disguised))).toEqual(Array.from(edge.preprocessor.toIds(text)));
      expect(Array.from((await client.preprocess(disguised)).ids)).toEqual(Array.from(edge.preprocessor.toIds(text)));
    }
  });

  it('a client pinned to the previous preprocessing (email-hash v1) is answered by spam-edge@1', async () => {
    const v1 = await server.service.context.requireModelVersion('spam-edge', '1');
    const pinned = lib.createClient({ endpoint: server.url, model: 'spam-edge', preprocessing: v1.manifest.preprocessing! });
    // One that v1 answers with confidence (else the client sends the text, and the regional model answers).
    const policy = edgeConfidencePolicy(v1.manifest);
    let confident: (typeof messages)[number] | undefined;
    for (const m of messages) {
      const { scores } = await v1.classifyIds(v1.preprocessor.toIds(m.text));
      if (assessConfidence(v1.manifest.labels.map((l) => scores[l] as number), policy).confident) confident = m;
      if (confident) break;
    }
    if (!confident) throw new Error('no test message v1 is confident about');
    const answer = await pinned.predict(confident.text);
    expect(answer.model).toMatchObject({ name: 'spam-edge', version: '1' });
    expect(answer.scores).toEqual((await v1.classifyIds(v1.preprocessor.toIds(confident.text))).scores);
  });

  it('bundle sizes: the client alone stays under 50 KB gzip', () => {
    expect(build.client.gzipBytes).toBeLessThan(50 * 1024);
    expect(build.clientWithModel.gzipBytes).toBeGreaterThan(build.model.gzipBytes);
  });

  it('package.json exports edgeinfer/client as an ESM file Node can import', async () => {
    // The default output, where the exports map points (dist/client), and the default model:
    // the only edge model that classifies text (flights-edge takes fields), at its newest version.
    expect((await buildClient()).modelId).toBe(`spam-edge@${edge.manifest.version}`);
    expect(edge.manifest.version).toBe('2');
    // Real Node resolution (self-reference through the exports map) of the built file.
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('edgeinfer/client'); console.log(typeof m.createClient, typeof m.createLocalModel)"],
      { cwd: process.cwd(), encoding: 'utf8' },
    );
    expect(out.trim()).toBe('function function');
  });
});
