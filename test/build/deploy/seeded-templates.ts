// Broken templates seeded from the real Lambda@Edge template, one known class of defect each,
// with the rule a validator must report. Shared by the validator's test and bench/cfn-validators.ts
// (which also runs the npm cfn-lint package over them, to compare).
import { lambdaEdgeTemplate } from '../../../build/targets/lambda-edge.ts';

type Template = Record<string, any>;

/** One seeded defect: its class, the rule expected, and the template text. */
export interface SeededTemplate {
  name: string;
  /** Issue class of the brief: spec (any CloudFormation validator should catch it) or edge (Lambda@Edge rules). */
  kind: 'spec' | 'edge';
  rule: string;
  text: string;
}

function seed(name: string, kind: SeededTemplate['kind'], rule: string, mutate: (t: Template) => void): SeededTemplate {
  const t = structuredClone(lambdaEdgeTemplate()) as Template;
  mutate(t);
  return { name, kind, rule, text: JSON.stringify(t, null, 2) };
}

export function seededTemplates(): SeededTemplate[] {
  const fixed = JSON.stringify(lambdaEdgeTemplate(), null, 2);
  return [
    // Today's defect: a parameter and a resource with one logical id.
    seed('parameter and resource share a logical id', 'spec', 'duplicate-id', (t) => (t.Parameters.WarmSchedule = { Type: 'String', Default: 'rate(5 minutes)' })),
    // JSON.parse keeps the last of two equal keys: only the text shows it.
    { name: 'one resource id declared twice', kind: 'spec', rule: 'duplicate-id', text: fixed.replace('"Resources": {', '"Resources": {\n    "Distribution": { "Type": "AWS::SNS::Topic" },') },
    seed('unknown property', 'spec', 'unknown-property', (t) => (t.Resources.ViewerRequestFunction.Properties.Memory = 128)),
    seed('unknown nested property', 'spec', 'unknown-property', (t) => (t.Resources.Distribution.Properties.DistributionConfig.DefaultCacheBehavior.OriginRequestPolicy = 'x')),
    seed('wrong property type', 'spec', 'wrong-type', (t) => (t.Resources.ViewerRequestFunction.Properties.Timeout = 'five seconds')),
    seed('wrong nested type', 'spec', 'wrong-type', (t) => (t.Resources.Distribution.Properties.DistributionConfig.Enabled = ['yes'])),
    seed('missing required property', 'spec', 'missing-property', (t) => delete t.Resources.ViewerRequestFunction.Properties.Role),
    seed('Ref to nothing', 'spec', 'dangling-ref', (t) => (t.Resources.ViewerRequestFunction.Properties.Code.S3Bucket = { Ref: 'DeployBucket' })),
    seed('GetAtt to an unknown attribute', 'spec', 'dangling-ref', (t) => (t.Resources.ViewerRequestFunction.Properties.Role = { 'Fn::GetAtt': ['EdgeFunctionRole', 'RoleArn'] })),
    seed('Sub naming nothing', 'spec', 'dangling-ref', (t) => (t.Resources.WarmDestination.Properties.InvocationEndpoint = { 'Fn::Sub': 'https://${Distribution.Domain}/_warm' })),
    seed('unknown resource type', 'spec', 'unknown-type', (t) => (t.Resources.WarmSchedule.Type = 'AWS::Events::Schedule')),
    seed('environment block on an edge function', 'edge', 'edge-feature', (t) => (t.Resources.ViewerRequestFunction.Properties.Environment = { Variables: { EDGEINFER_ADMIN_TOKEN: 'x' } })),
    seed('association to the function, not a published version', 'edge', 'edge-version', (t) => {
      t.Resources.Distribution.Properties.DistributionConfig.DefaultCacheBehavior.LambdaFunctionAssociations[0].LambdaFunctionARN = { 'Fn::GetAtt': ['ViewerRequestFunction', 'Arn'] };
    }),
    seed('viewer-request memory over 128 MB', 'edge', 'edge-limits', (t) => (t.Resources.ViewerRequestFunction.Properties.MemorySize = 256)),
    seed('origin-request timeout over 30 s', 'edge', 'edge-limits', (t) => (t.Resources.OriginRequestFunction.Properties.Timeout = 60)),
    seed('no us-east-1 assertion', 'edge', 'edge-region', (t) => delete t.Rules),
    seed('origin-request behaviour without an origin request policy', 'edge', 'edge-headers', (t) => delete t.Resources.Distribution.Properties.DistributionConfig.CacheBehaviors[1].OriginRequestPolicyId),
    seed('request trigger without the body', 'edge', 'edge-body', (t) => (t.Resources.Distribution.Properties.DistributionConfig.CacheBehaviors[1].LambdaFunctionAssociations[0].IncludeBody = false)),
  ];
}
