// Template validation against AWS's resource specification (@aws-cdk/aws-service-spec) and the
// Lambda@Edge rules: every template the builds write has 0 problems; every seeded broken
// template is caught with the rule of its class.
import { describe, expect, it } from 'vitest';
import { checkTemplate, duplicateKeys, lambdaEdgeIssues, validateTemplate } from '../../../build/deploy/validate-template.ts';
import { lambdaEdgeTemplate } from '../../../build/targets/lambda-edge.ts';
import { regionalTemplate } from '../../../build/targets/regional.ts';
import { modelsForBuild } from '../../../build/model-tools/build-models.ts';
import { seededTemplates } from './seeded-templates.ts';
import { REGIONAL_ALIAS } from '../../../adapters/edge/edge-service.ts';

describe('CloudFormation templates the builds write', () => {
  it('lambda-edge: 0 problems against the specification and the Lambda@Edge rules', async () => {
    expect(await checkTemplate(`${JSON.stringify(lambdaEdgeTemplate(), null, 2)}\n`)).toEqual([]);
  });

  it('regional: the alias the edge escalates to by default is the one the template warms and provisions', () => {
    const template = regionalTemplate(modelsForBuild({}, 'regional')) as { Resources: Record<string, { Properties: Record<string, unknown> }> };
    expect(template.Resources.RegionalAlias!.Properties.Name).toBe(REGIONAL_ALIAS);
    expect(JSON.stringify(template.Resources.WarmSchedule)).toContain('RegionalAlias');
  });

  it('regional: 0 problems against the specification (it associates no edge function)', async () => {
    const text = `${JSON.stringify(regionalTemplate(modelsForBuild({}, 'regional')), null, 2)}\n`;
    expect(await checkTemplate(text)).toEqual([]);
    expect(lambdaEdgeIssues(text)).toEqual([]);
  });
});

describe('seeded broken templates', () => {
  for (const seeded of seededTemplates()) {
    it(`caught: ${seeded.name} (${seeded.rule})`, async () => {
      const issues = await checkTemplate(seeded.text);
      expect(issues.map((i) => i.rule), JSON.stringify(issues)).toContain(seeded.rule);
    });
  }

  it('spec problems come from the specification, not from a list of names kept here', async () => {
    // A property CloudFormation added in 2020 (OriginRequestPolicyId) passes; one that never existed fails.
    const issues = await validateTemplate(seededTemplates().find((s) => s.name === 'unknown nested property')!.text);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toContain('OriginRequestPolicyId');
  });

  it('duplicate keys are found in the text, where JSON.parse hides them', () => {
    expect(duplicateKeys('{"a": {"b": 1, "c": [1, {"d": 2, "d": 3}], "b": "x\\"y"}}')).toEqual([
      { path: 'a.c[1]', key: 'd' },
      { path: 'a', key: 'b' },
    ]);
  });
});
