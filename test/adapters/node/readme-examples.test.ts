// The README's first examples, run as a newcomer runs them: a fresh `npm start` process (the
// real models/ folder, the in-process regional tier), each request sent right after the ready
// line, answers as the README shows. Two fresh processes: the first escalation of a process
// used to overrun the 250 ms budget and come back degraded ("timeout").
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(new URL('README.md', `file://${ROOT}`), 'utf8');

// The requests, as the README writes them.
const quickstart = README.slice(0, README.indexOf('## The API'));
const curlBodies = [...quickstart.matchAll(/-d '([^']+)'/g)].map((m) => m[1]!);
const [spamBody, emptyBody] = [curlBodies[0]!, curlBodies.find((b) => b === '{"text":""}')!];
const lunchBody = /`(\{"text": "hello, are[\s\S]*?\})`/.exec(quickstart)![1]!.replace(/\s+/g, ' ');
// The answers, as the README shows them.
const spamAnswer = JSON.parse(/That request answers[\s\S]*?```json\n([\s\S]*?)```/.exec(quickstart)![1]!) as Record<string, unknown>;
const lunchBlock = /asks the regional model, which answers ham:\s*```json\n([\s\S]*?)```/.exec(quickstart)![1]!;
const lunchAnswer = {
  label: /"label": "(\w+)"/.exec(lunchBlock)![1],
  tier: /"tier": "(\w+)"/.exec(lunchBlock)![1],
  degraded: /"degraded": (\w+)/.exec(lunchBlock)![1] === 'true',
  model: /"model": \{ "name": "([\w-]+)"/.exec(lunchBlock)![1],
  outcome: /"outcome": "(\w+)"/.exec(lunchBlock)![1],
};
const emptyAnswer = JSON.parse(/-d '\{"text":""\}'\n(\{.*\})/.exec(quickstart)![1]!) as unknown;

async function freshServer(): Promise<{ url: string; stop: () => void; output: () => string }> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'adapters/node/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not get ready:\n${output}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /ready on (http:\/\/127\.0\.0\.1:\d+) in \d+ ms/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  return { url, stop: () => child.kill('SIGKILL'), output: () => output };
}

const post = async (url: string, body: string) => {
  const response = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
};

describe("the README's examples in a fresh npm start", () => {
  it('the README still shows the requests and answers this test runs', () => {
    expect(spamBody).toContain('FREE prize');
    expect(lunchBody).toBe('{"text": "hello, are we still on for lunch?"}');
    expect(spamAnswer).toMatchObject({ label: 'spam', tier: 'edge', degraded: false });
    expect(lunchAnswer).toEqual({ label: 'ham', tier: 'regional', degraded: false, model: 'spam-regional', outcome: 'ok' });
  });

  for (const run of [1, 2]) {
    it(`answers as shown, first escalation included (fresh process ${run})`, async () => {
      const server = await freshServer();
      try {
        // The ready line comes only after the regional tier answered within budget.
        expect(server.output()).toMatch(/regional tier in-process warm \((?:[\w.-]+ [\d.]+ ms, )*spam-regional [\d.]+ ms(?:, [\w.-]+ [\d.]+ ms)*; budget \d+ ms\)/);
        const lunch = await post(server.url, lunchBody);
        expect(lunch.status).toBe(200);
        expect({ label: lunch.json.label, tier: lunch.json.tier, degraded: lunch.json.degraded, model: (lunch.json.model as { name: string }).name, outcome: (lunch.json.escalation as { outcome: string } | undefined)?.outcome }).toEqual(lunchAnswer);
        const spam = await post(server.url, spamBody);
        expect(spam.status).toBe(200);
        expect(spam.json).toMatchObject({ label: spamAnswer.label, tier: spamAnswer.tier, degraded: spamAnswer.degraded, model: spamAnswer.model, cached: false });
        const empty = await post(server.url, emptyBody);
        expect(empty.status).toBe(400);
        expect(empty.json).toEqual(emptyAnswer);
      } finally {
        server.stop();
      }
    }, 90_000);
  }
});
