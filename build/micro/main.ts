// `npm run build:micro [-- --models <dir>] [--out <dir>]`: compiles the micro-eligible models
// (default models/ → dist/micro/) and exits 1 when a model that requires micro does not compile.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildMicroModules, formatMicroBuild } from './build-modules.ts';

const { values } = parseArgs({ options: { models: { type: 'string', default: 'models' }, out: { type: 'string', default: 'dist/micro' } } });
const outDir = resolve(values.out!);
const result = await buildMicroModules(resolve(values.models!), outDir);
console.log(formatMicroBuild(result, outDir));
if (result.entries.length === 0) console.warn(`no models found under ${values.models}`);
// A refused model (malformed model.json, sha mismatch, bad folder name) is a bad file: the
// other models are still built, and the run fails with one line per file naming the problem.
const refused = result.entries.filter((e) => e.status === 'failed' && e.reason?.startsWith('refused: '));
for (const e of refused) console.error(`build:micro: ${e.model}: ${(e.reason as string).slice('refused: '.length)}`);
if (result.failed) console.error('a model with engine "micro" did not compile (see above)');
if (result.failed || refused.length > 0) process.exitCode = 1;
