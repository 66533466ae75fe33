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
if (result.failed) {
  console.error('a model with engine "micro" did not compile (see above)');
  process.exitCode = 1;
}
