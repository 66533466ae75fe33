// `npx tsx bench/cfn-validators.ts [--cfn-lint DIR]`: runs the seeded broken templates
// (test/build/deploy/seeded-templates.ts) and the real templates through the validator the
// deploys use (@aws-cdk/aws-service-spec + the Lambda@Edge rules) and, when a folder holding
// the npm `cfn-lint` package is given (`npm install cfn-lint@1.9.7` in a scratch folder; it is no
// dependency of this project), through cfn-lint too; prints which catches what, and false
// alarms on the real templates.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkTemplate, specVersion } from '../build/deploy/validate-template.ts';
import { lambdaEdgeTemplate } from '../build/targets/lambda-edge.ts';
import { regionalTemplate } from '../build/targets/regional.ts';
import { modelsForBuild } from '../build/model-tools/build-models.ts';
import { seededTemplates } from '../test/build/deploy/seeded-templates.ts';

const { values } = parseArgs({ options: { 'cfn-lint': { type: 'string' } } });
type Lint = (text: string) => string[];
let cfnLint: Lint | undefined;
// cfn-lint 1.9.7 keeps state between calls in one process and throws on resource types its
// 2019 specification lacks (AWS::Events::Connection, 2020): each template runs in its own
// process through its CLI, with the resources it cannot know removed first (when the seeded
// defect is elsewhere), so the count measures what it checks rather than where it crashes.
const UNKNOWN_TO_CFN_LINT = new Set(['AWS::Events::Connection', 'AWS::Events::ApiDestination']);
if (values['cfn-lint']) {
  const bin = join(values['cfn-lint'], 'node_modules', '.bin', 'cfn-lint');
  const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  cfnLint = (text) => {
    const t = JSON.parse(text) as { Resources: Record<string, { Type: string }> };
    const dropped = Object.entries(t.Resources).filter(([, r]) => UNKNOWN_TO_CFN_LINT.has(r.Type)).map(([id]) => id);
    let body = text;
    if (dropped.length && !dropped.some((id) => text.includes(`"${id}": { "Type": "AWS::SNS`))) {
      // Drop them and everything that references them (the warm role and schedule).
      const refs = new Set(dropped);
      for (const [id, r] of Object.entries(t.Resources)) if (dropped.some((d) => JSON.stringify(r).includes(`"${d}"`))) refs.add(id);
      for (const id of refs) delete t.Resources[id];
      body = JSON.stringify(t, null, 2);
    }
    const file = join(dir, 'template.json');
    writeFileSync(file, body);
    const run = spawnSync(process.execPath, [bin, 'validate', file], { encoding: 'utf8' });
    const out = `${run.stdout}${run.stderr}`;
    if (/uncaughtException|No such resource/.test(out)) return [`CRASH ${out.split('\n')[0]}`];
    // Its findings, one "resource: message" each, colours stripped.
    const lines = out.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
    const found: string[] = [];
    lines.forEach((line, n) => line.startsWith('Resource:') && found.push(`${line.slice(9).trim()}: ${(lines[n + 1] ?? '').replace(/^Message:/, '').trim()}`));
    return run.status === 0 ? [] : found.length ? found : ['invalid (no detail)'];
  };
}

// cfn-lint reports problems on the valid template itself (properties newer than its 2019
// specification): a seeded defect counts as caught only by a finding the valid template lacks.
const baseline = new Set(cfnLint?.(JSON.stringify(lambdaEdgeTemplate(), null, 2)) ?? []);
const ours = async (text: string) => (await checkTemplate(text)).map((i) => `${i.rule} ${i.path}: ${i.message}`);
const rows: Array<{ name: string; kind: string; ours: boolean; cfnLint?: boolean }> = [];
for (const seeded of seededTemplates()) {
  rows.push({ name: seeded.name, kind: seeded.kind, ours: (await ours(seeded.text)).length > 0, ...(cfnLint ? { cfnLint: cfnLint(seeded.text).some((l) => !l.startsWith('CRASH') && !baseline.has(l)) } : {}) });
}
console.log(`seeded template                                              class  aws-service-spec ${specVersion()}${cfnLint ? '  cfn-lint' : ''}`);
for (const r of rows) console.log(`${r.name.padEnd(60)} ${r.kind.padEnd(6)} ${(r.ours ? 'caught' : 'missed').padEnd(24)}${cfnLint ? (r.cfnLint ? 'caught' : 'missed') : ''}`);
const count = (kind: string, key: 'ours' | 'cfnLint') => rows.filter((r) => (kind === 'all' || r.kind === kind) && r[key]).length;
for (const kind of ['spec', 'edge', 'all']) {
  const total = rows.filter((r) => kind === 'all' || r.kind === kind).length;
  console.log(`${kind}: aws-service-spec ${count(kind, 'ours')}/${total}${cfnLint ? `, cfn-lint ${count(kind, 'cfnLint')}/${total}` : ''}`);
}
for (const [name, t] of [['lambda-edge', lambdaEdgeTemplate()], ['regional', regionalTemplate(modelsForBuild({}, 'regional'))]] as const) {
  const text = JSON.stringify(t, null, 2);
  const a = await ours(text);
  const b = cfnLint?.(text);
  console.log(`real ${name} template (valid): aws-service-spec ${a.length} problems${b ? `, cfn-lint ${b.length} (false alarms)` : ''}`);
  for (const line of b ?? []) console.log(`  cfn-lint: ${line}`);
}
