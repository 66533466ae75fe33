// `npm run deploy:<provider> [-- --yes] [--out DIR]`: prints the deploy plan (dry run) or,
// with --yes, runs it. Missing credentials give an error naming the variables to set.
import { parseArgs } from 'node:util';
import { checkPlanTemplates, DeployError, formatPlan, planDeploy, runPlan, type DeployProvider } from './plan.ts';

const PROVIDERS: DeployProvider[] = ['vercel', 'netlify', 'lambda-edge', 'regional'];
const { values, positionals } = parseArgs({ allowPositionals: true, options: { yes: { type: 'boolean', default: false }, out: { type: 'string' } } });
const provider = positionals[0] as DeployProvider;
if (!PROVIDERS.includes(provider)) {
  console.error(`usage: build/deploy/main.ts <${PROVIDERS.join('|')}> [--yes] [--out DIR]`);
  process.exit(2);
}
try {
  const plan = planDeploy(provider, process.env, values.out);
  console.log(formatPlan(plan));
  // The dry run checks the templates too (runPlan checks them again before deploying).
  if (!values.yes) for (const line of await checkPlanTemplates(plan)) console.log(`  ${line}`);
  if (values.yes) await runPlan(plan, process.env, (line) => console.log(line));
} catch (error) {
  // One line (no stack trace) for anything unexpected too: the file or step is in the message.
  console.error(error instanceof DeployError ? error.message : `deploy:${provider}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  process.exitCode = 1;
}
