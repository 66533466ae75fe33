// `npm run build:<target> [-- --tier <tier>] [--out <dir>] [--env-file <file>] [--engines micro,ort-web] [--models a,b] [--models-dir DIR]`:
// builds one provider target through build/pipeline.ts, prints the size table and exits 1
// with the reason when the chosen tier cannot hold it. Edge targets embed every model whose
// model.json has role "edge" or "any", the regional target every "regional" or "any" one;
// --models names the models instead. Baked configuration (Lambda@Edge)
// comes from --env-file; only variable names are printed, never values.
import { parseArgs } from 'node:util';
import { EDGE_ENV_VARS } from '../adapters/edge/edge-service.ts';
import { buildTarget, readEnvFile } from './pipeline.ts';
import { TARGETS } from './targets/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tier: { type: 'string' }, out: { type: 'string' }, 'env-file': { type: 'string' }, engines: { type: 'string' }, models: { type: 'string' }, 'models-dir': { type: 'string' } },
});
const name = positionals[0] ?? '';
const target = TARGETS[name as keyof typeof TARGETS];
if (!target) {
  console.error(`usage: build/main.ts <${Object.keys(TARGETS).join('|')}> [--tier T] [--out DIR] [--env-file FILE] [--engines micro,ort-web] [--models a,b] [--models-dir DIR]`);
  process.exit(2);
}
const baked: Record<string, string> = {};
if (values['env-file']) {
  const env = await readEnvFile(values['env-file']);
  for (const key of EDGE_ENV_VARS) if (env[key] !== undefined) baked[key] = env[key];
  const ignored = Object.keys(env).filter((k) => !(EDGE_ENV_VARS as readonly string[]).includes(k));
  console.log(`baked configuration: ${Object.keys(baked).join(', ') || 'none'}${ignored.length ? ` (ignored: ${ignored.join(', ')})` : ''}`);
}
try {
  const result = await buildTarget(target, {
    ...(values.tier ? { tier: values.tier } : {}),
    ...(values.out ? { outDir: values.out } : {}),
    ...(values.engines ? { engines: values.engines.split(',').map((e) => e.trim()) as Array<'micro' | 'ort-web'> } : {}),
    ...(values.models ? { models: values.models.split(',').map((m) => m.trim()).filter(Boolean) } : {}),
    ...(values['models-dir'] ? { modelsRoot: values['models-dir'] } : {}),
    baked,
    log: (line) => console.log(line),
  });
  console.log(`${target.name}: wrote ${result.written.length} files to ${result.outDir}`);
  for (const file of result.written) console.log(`  ${file}`);
} catch (error) {
  console.error(`${target.name}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
