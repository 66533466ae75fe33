// Every CLI answers a bad file with one clear line (#17, "Also"): the file, the field and what
// it must be, a non-zero exit and no stack trace. Spawned as `npm run` runs them (node --import tsx).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/pipeline.ts';

const work = mkdtempSync(join(tmpdir(), 'edgeinfer-cli-errors-'));
const real = JSON.parse(readFileSync(join(REPO_ROOT, 'models/spam-edge/1/model.json'), 'utf8'));

/** A repository holding spam-edge@1 with `manifest` (text) as its model.json. */
function repoWith(label: string, manifest: string): { root: string; file: string } {
  const root = join(work, label);
  mkdirSync(join(root, 'spam-edge', '1'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'models/spam-edge/1/model.onnx'), join(root, 'spam-edge', '1', 'model.onnx'));
  const file = join(root, 'spam-edge', '1', 'model.json');
  writeFileSync(file, manifest);
  return { root, file };
}

const MALFORMED: Array<{ label: string; text: string; says: RegExp }> = [
  { label: 'truncated', text: JSON.stringify(real).slice(0, 80), says: /is not valid JSON/ },
  { label: 'null', text: 'null', says: /must be a JSON object, got null/ },
  { label: 'labels-number', text: JSON.stringify({ ...real, labels: 5 }), says: /"labels" must be an array of strings/ },
];

interface Run {
  code: number;
  out: string;
}

async function run(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 120_000 });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

/** Non-zero, a line with the file and the problem, and nothing that looks like a stack trace. */
function expectOneClearLine(result: Run, file: string, says: RegExp): void {
  expect(result.code, result.out).not.toBe(0);
  const lines = result.out.split('\n').filter((l) => l.includes(file) && says.test(l));
  expect(lines.length, result.out).toBeGreaterThanOrEqual(1);
  expect(result.out, result.out).not.toMatch(/^\s+at .+[:(]/m);
  expect(result.out).not.toMatch(/node:internal|TransformError|Cannot read properties/);
}

describe('CLIs on a malformed model.json', { timeout: 600_000 }, () => {
  const repos = MALFORMED.map((m) => ({ ...m, ...repoWith(m.label, m.text) }));

  it('npm run build:micro: exit 1 and one line per refused model', async () => {
    for (const r of repos) expectOneClearLine(await run('build/micro/main.ts', ['--models', r.root, '--out', join(work, `micro-${r.label}`)]), r.file, r.says);
  });

  it('npm run build:vercel / netlify / lambda-edge / regional', async () => {
    const targets = ['vercel', 'netlify', 'lambda-edge', 'regional'];
    for (const [i, target] of targets.entries()) {
      const r = repos[i % repos.length]!;
      // The regional build embeds regional/any models: this one is "edge" unless its role is unreadable.
      const repo = target === 'regional' ? { ...r, ...repoWith(`${r.label}-regional`, r.text.replace('"role":"edge"', '"role":"any"')) } : r;
      expectOneClearLine(await run('build/main.ts', [target, '--models-dir', repo.root, '--out', join(work, `${target}-${r.label}`)]), repo.file, r.says);
    }
  });

  it('npm run model:check', async () => {
    for (const r of repos) expectOneClearLine(await run('build/model-tools/model-check.ts', ['--models-dir', r.root, '--runs', '1']), r.file, r.says);
  });
});

describe('CLIs on other bad files', { timeout: 600_000 }, () => {
  it('npm run model:add on a file that is no ONNX model', async () => {
    const garbage = join(work, 'garbage.onnx');
    writeFileSync(garbage, 'not a protobuf at all, just text\n');
    expectOneClearLine(await run('build/model-tools/model-add.ts', [garbage, '--name', 'garbage', '--models-dir', join(work, 'add')]), garbage, /not an ONNX model/);
  });

  it('npm run warm on a --urls file with a line that is no URL, and on a missing file', async () => {
    const urls = join(work, 'urls.txt');
    writeFileSync(urls, '# locations\nfra=https://edge.example.com\n{"x":\n');
    expectOneClearLine(await run('build/warm/main.ts', ['--urls', urls], { EDGEINFER_ADMIN_TOKEN: 't' }), `${urls} line 3`, /is not \[location=\]http\(s\):\/\/host\//);
    expectOneClearLine(await run('build/warm/main.ts', ['--urls', join(work, 'absent.txt')], { EDGEINFER_ADMIN_TOKEN: 't' }), join(work, 'absent.txt'), /cannot read --urls .*ENOENT/);
  });

  it('npm run deploy:* on a build whose JSON files are malformed', async () => {
    const vercel = join(work, 'deploy-vercel');
    mkdirSync(join(vercel, 'functions/edgeinfer.func'), { recursive: true });
    writeFileSync(join(vercel, 'config.json'), '{"version": 3,');
    writeFileSync(join(vercel, 'functions/edgeinfer.func/.vc-config.json'), '{}');
    expectOneClearLine(await run('build/deploy/main.ts', ['vercel', '--out', vercel]), join(vercel, 'config.json'), /is not valid JSON/);
    for (const provider of ['lambda-edge', 'regional']) {
      const dir = join(work, `deploy-${provider}`);
      mkdirSync(dir, { recursive: true });
      for (const zip of provider === 'regional' ? ['regional.zip'] : ['viewer-request.zip', 'origin-request.zip']) writeFileSync(join(dir, zip), '');
      writeFileSync(join(dir, 'template.json'), '[1, 2');
      expectOneClearLine(await run('build/deploy/main.ts', [provider, '--out', dir]), join(dir, 'template.json'), /is not valid JSON/);
    }
  });
});
