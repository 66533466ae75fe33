// CloudFormation template validation against AWS's own resource specification, before any
// deploy and in CI over every template the builds write.
//
// The specification is `@aws-cdk/aws-service-spec` (cdklabs/awscdk-service-spec): the resource
// types, their properties (types, required, allowed values) and GetAtt attributes, regenerated
// from CloudFormation's registry schemas and published weekly. Measured against the npm
// `cfn-lint` package (1.9.7, spec 2.29.0 of 2019) on the seeded broken templates of
// test/build/deploy/validate-template.test.ts, it is the one that knows today's properties
// (README, "Template validation"). Neither knows Lambda@Edge: those rules are checked here from
// the CloudFront Developer Guide (links at `lambdaEdgeIssues`).
//
// Template structure rules checked (AWS CloudFormation User Guide, template anatomy):
//   - logical ids alphanumeric and unique across Parameters and Resources ("unique among all
//     logical names within the template": parameters-section-structure.html) and no key twice in
//     one object (JSON.parse would keep the last silently, so the raw text is scanned)
//   - every Ref names a parameter, a resource or a pseudo parameter
//     (pseudo-parameter-reference.html); every Fn::GetAtt a resource and one of its attributes;
//     every ${Name} / ${Name.Attr} of Fn::Sub likewise; every Condition / Fn::If a declared condition
//   - resource types, property names, required properties, property value types and allowed
//     values from the specification; DeletionPolicy / UpdateReplacePolicy values
//     (aws-attribute-deletionpolicy.html)
import { createRequire } from 'node:module';

/** One problem found in a template. */
export interface TemplateIssue {
  /** Which rule: duplicate-id, unknown-property, wrong-type, missing-property, dangling-ref, edge-… */
  rule: string;
  /** Where, as a path through the template (Resources.Fn.Properties.MemorySize). */
  path: string;
  message: string;
}

// Spec shapes (the subset of @aws-cdk/service-spec-types read here).
type SpecType =
  | { type: 'string'; allowedValues?: string[] }
  | { type: 'integer'; allowedValues?: number[] }
  | { type: 'number' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag' }
  | { type: 'ref'; reference: { $ref: string } }
  | { type: 'array' | 'map'; element: SpecType }
  | { type: 'union'; types: SpecType[] };
interface SpecProperty {
  type: SpecType;
  previousTypes?: SpecType[];
  required?: boolean;
}
interface SpecResource {
  cloudFormationType: string;
  properties: Record<string, SpecProperty>;
  attributes: Record<string, unknown>;
}
interface SpecTypeDefinition {
  name: string;
  properties: Record<string, SpecProperty>;
}
interface SpecDb {
  lookup(key: 'resource', index: 'cloudFormationType', op: 'equals', value: string): readonly SpecResource[];
  get(key: 'typeDefinition', id: string): SpecTypeDefinition;
}

let specPromise: Promise<SpecDb> | undefined;
/** The specification database (about 5 s to load on this machine; loaded once per process). */
export function loadSpec(): Promise<SpecDb> {
  specPromise ??= (async () => {
    const { loadAwsServiceSpec } = (await import('@aws-cdk/aws-service-spec')) as unknown as { loadAwsServiceSpec(): Promise<SpecDb> };
    return loadAwsServiceSpec();
  })();
  return specPromise;
}

/** The specification package's version, for messages and the report. */
export function specVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('@aws-cdk/aws-service-spec/package.json') as { version: string }).version;
}

// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
const PSEUDO_PARAMETERS = new Set(['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);
const LOGICAL_ID = /^[A-Za-z0-9]+$/;
const POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']);
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy', 'Metadata', 'CreationPolicy', 'UpdatePolicy']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys that appear twice in one JSON object (JSON.parse keeps the last one silently). */
export function duplicateKeys(text: string): Array<{ path: string; key: string }> {
  const found: Array<{ path: string; key: string }> = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        const key = str();
        if (seen.has(key)) found.push({ path, key });
        seen.add(key);
        ws();
        i++; // ':'
        value(path ? `${path}.${key}` : key);
        ws();
        if (text[i++] === '}') return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        ws();
        if (text[i++] === ']') return;
      }
    }
    if (c === '"') return void str();
    while (i < text.length && !',}] \t\r\n'.includes(text[i]!)) i++;
  };
  value('');
  return found;
}

interface Context {
  spec: SpecDb;
  params: Record<string, Json>;
  resources: Record<string, Record<string, Json>>;
  conditions: Set<string>;
  issues: TemplateIssue[];
}

function resourceSpec(ctx: Context, type: string): SpecResource | undefined {
  return ctx.spec.lookup('resource', 'cloudFormationType', 'equals', type)[0];
}

/** Checks Ref / GetAtt / Sub / If references anywhere in a value. */
function checkReferences(ctx: Context, value: Json, path: string): void {
  if (Array.isArray(value)) return value.forEach((v, n) => checkReferences(ctx, v, `${path}[${n}]`));
  if (!isObject(value)) return;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [fn] = keys as [string];
    const arg = value[fn]!;
    if (fn === 'Ref' && typeof arg === 'string') {
      if (!(arg in ctx.params) && !(arg in ctx.resources) && !PSEUDO_PARAMETERS.has(arg)) ctx.issues.push({ rule: 'dangling-ref', path, message: `Ref to "${arg}", which is neither a parameter, a resource nor a pseudo parameter` });
      return;
    }
    if (fn === 'Fn::GetAtt') {
      const [name, attribute] = Array.isArray(arg) ? (arg as string[]) : String(arg).split(/\.(.*)/s);
      checkGetAtt(ctx, String(name), String(attribute), path);
      return;
    }
    if (fn === 'Fn::Sub') {
      const [template, vars] = Array.isArray(arg) ? [String(arg[0]), isObject(arg[1]) ? arg[1] : {}] : [String(arg), {}];
      for (const [, ref] of template.matchAll(/\$\{([^!}][^}]*)\}/g)) {
        const name = ref!.trim();
        if (name in vars) continue;
        const dot = name.indexOf('.');
        if (dot > 0 && !PSEUDO_PARAMETERS.has(name)) checkGetAtt(ctx, name.slice(0, dot), name.slice(dot + 1), path);
        else if (!(name in ctx.params) && !(name in ctx.resources) && !PSEUDO_PARAMETERS.has(name)) ctx.issues.push({ rule: 'dangling-ref', path, message: `Fn::Sub names "\${${name}}", which is neither a parameter, a resource nor a pseudo parameter` });
      }
      if (isObject(vars)) checkReferences(ctx, vars, `${path}.Fn::Sub[1]`);
      return;
    }
    if (fn === 'Fn::If' && Array.isArray(arg)) {
      if (!ctx.conditions.has(String(arg[0]))) ctx.issues.push({ rule: 'dangling-ref', path, message: `Fn::If names condition "${String(arg[0])}", which Conditions does not declare` });
      arg.slice(1).forEach((v, n) => checkReferences(ctx, v, `${path}.Fn::If[${n + 1}]`));
      return;
    }
    if (fn === 'Condition' && typeof arg === 'string' && !ctx.conditions.has(arg)) {
      ctx.issues.push({ rule: 'dangling-ref', path, message: `Condition "${arg}" is not declared in Conditions` });
      return;
    }
  }
  for (const [key, v] of Object.entries(value)) checkReferences(ctx, v, `${path}.${key}`);
}

function checkGetAtt(ctx: Context, name: string, attribute: string, path: string): void {
  const target = ctx.resources[name];
  if (!target) return void ctx.issues.push({ rule: 'dangling-ref', path, message: `Fn::GetAtt on "${name}", which is not a resource of this template` });
  const spec = typeof target.Type === 'string' ? resourceSpec(ctx, target.Type) : undefined;
  if (spec && !(attribute in spec.attributes)) {
    ctx.issues.push({ rule: 'dangling-ref', path, message: `${target.Type} has no attribute "${attribute}" (it has ${Object.keys(spec.attributes).join(', ') || 'none'})` });
  }
}

const INTRINSIC = /^(Ref|Condition|Fn::[A-Za-z0-9]+)$/;
const isIntrinsic = (v: Json): boolean => isObject(v) && Object.keys(v).length === 1 && INTRINSIC.test(Object.keys(v)[0]!);

/** Whether `value` fits `type` (intrinsics are taken to fit: CloudFormation resolves them at deploy). */
function fits(ctx: Context, value: Json, type: SpecType, path: string, issues: TemplateIssue[]): boolean {
  if (isIntrinsic(value)) return true;
  switch (type.type) {
    case 'string':
      if (typeof value !== 'string' && typeof value !== 'number') return false;
      if (type.allowedValues && !type.allowedValues.includes(String(value))) {
        issues.push({ rule: 'wrong-value', path, message: `"${String(value)}" is not one of ${type.allowedValues.join(', ')}` });
      }
      return true;
    case 'integer':
      return (typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && /^-?\d+$/.test(value));
    case 'number':
      return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)));
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false';
    case 'json':
      return isObject(value) || typeof value === 'string';
    case 'date-time':
      return typeof value === 'string';
    case 'null':
      return value === null;
    case 'tag':
      return isObject(value) && 'Key' in value;
    case 'array':
      if (!Array.isArray(value)) return false;
      value.forEach((v, n) => checkValue(ctx, v, [type.element], `${path}[${n}]`));
      return true;
    case 'map':
      if (!isObject(value)) return false;
      for (const [k, v] of Object.entries(value)) checkValue(ctx, v, [type.element], `${path}.${k}`);
      return true;
    case 'union':
      return type.types.some((t) => fits(ctx, value, t, path, []) ) && (checkValue(ctx, value, type.types, path), true);
    case 'ref': {
      if (!isObject(value)) return false;
      checkProperties(ctx, value, ctx.spec.get('typeDefinition', type.reference.$ref).properties, path);
      return true;
    }
  }
}

function describeType(ctx: Context, type: SpecType): string {
  switch (type.type) {
    case 'ref':
      return ctx.spec.get('typeDefinition', type.reference.$ref).name;
    case 'array':
      return `array of ${describeType(ctx, type.element)}`;
    case 'map':
      return `map of ${describeType(ctx, type.element)}`;
    case 'union':
      return type.types.map((t) => describeType(ctx, t)).join(' | ');
    default:
      return type.type;
  }
}

function checkValue(ctx: Context, value: Json, types: SpecType[], path: string): void {
  // A union (or a property whose type changed over time) fits when any member fits; the
  // first that fits also reports its nested issues.
  for (const type of types) {
    const nested: TemplateIssue[] = [];
    if (fits(ctx, value, type, path, nested)) return void ctx.issues.push(...nested);
  }
  ctx.issues.push({ rule: 'wrong-type', path, message: `expected ${types.map((t) => describeType(ctx, t)).join(' or ')}, got ${JSON.stringify(value).slice(0, 80)}` });
}

function checkProperties(ctx: Context, value: Record<string, Json>, spec: Record<string, SpecProperty>, path: string): void {
  // Fn::If at a property's place resolves to one of two values; AWS::NoValue removes it.
  for (const [name, v] of Object.entries(value)) {
    const property = spec[name];
    if (!property) {
      ctx.issues.push({ rule: 'unknown-property', path: `${path}.${name}`, message: `"${name}" is not a property here (known: ${Object.keys(spec).sort().join(', ')})` });
      continue;
    }
    const branches = isObject(v) && Array.isArray(v['Fn::If']) ? (v['Fn::If'] as Json[]).slice(1) : [v];
    for (const b of branches) {
      if (isObject(b) && b.Ref === 'AWS::NoValue') continue;
      checkValue(ctx, b, [property.type, ...(property.previousTypes ?? [])], `${path}.${name}`);
    }
  }
  for (const [name, property] of Object.entries(spec)) {
    if (property.required && !(name in value)) ctx.issues.push({ rule: 'missing-property', path, message: `required property "${name}" is missing` });
  }
}

/** Validates a template (its JSON text) against the CloudFormation specification. */
export async function validateTemplate(text: string): Promise<TemplateIssue[]> {
  const issues: TemplateIssue[] = duplicateKeys(text).map(({ path, key }) => ({ rule: 'duplicate-id', path, message: `"${key}" is declared twice in ${path || 'the template'}` }));
  const template = JSON.parse(text) as Record<string, Json>;
  const params = isObject(template.Parameters) ? template.Parameters : {};
  const resources = (isObject(template.Resources) ? template.Resources : {}) as Record<string, Record<string, Json>>;
  const conditions = new Set(isObject(template.Conditions) ? Object.keys(template.Conditions) : []);
  const ctx: Context = { spec: await loadSpec(), params, resources, conditions, issues };

  for (const id of Object.keys(params)) {
    if (id in resources) issues.push({ rule: 'duplicate-id', path: `Parameters.${id}`, message: `"${id}" is both a parameter and a resource: logical ids must be unique across the template` });
  }
  for (const id of [...Object.keys(params), ...Object.keys(resources), ...(isObject(template.Outputs) ? Object.keys(template.Outputs) : [])]) {
    if (!LOGICAL_ID.test(id)) issues.push({ rule: 'bad-logical-id', path: id, message: `logical id "${id}" must be alphanumeric` });
  }
  for (const [id, resource] of Object.entries(resources)) {
    const path = `Resources.${id}`;
    for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.has(key)) issues.push({ rule: 'unknown-property', path: `${path}.${key}`, message: `"${key}" is not a resource attribute` });
    for (const key of ['DeletionPolicy', 'UpdateReplacePolicy'] as const) {
      if (key in resource && !POLICIES.has(String(resource[key]))) issues.push({ rule: 'wrong-value', path: `${path}.${key}`, message: `${key} must be one of ${[...POLICIES].join(', ')}` });
    }
    if (typeof resource.Condition === 'string' && !conditions.has(resource.Condition)) issues.push({ rule: 'dangling-ref', path: `${path}.Condition`, message: `condition "${resource.Condition}" is not declared` });
    for (const dep of ([] as Json[]).concat(resource.DependsOn ?? [])) {
      if (!(String(dep) in resources)) issues.push({ rule: 'dangling-ref', path: `${path}.DependsOn`, message: `DependsOn "${String(dep)}", which is not a resource` });
    }
    const type = String(resource.Type);
    const spec = resourceSpec(ctx, type);
    if (!spec) {
      issues.push({ rule: 'unknown-type', path: `${path}.Type`, message: `"${type}" is not a CloudFormation resource type` });
      continue;
    }
    checkProperties(ctx, isObject(resource.Properties) ? resource.Properties : {}, spec.properties, `${path}.Properties`);
    checkReferences(ctx, (resource.Properties ?? {}) as Json, `${path}.Properties`);
  }
  if (isObject(template.Outputs)) checkReferences(ctx, template.Outputs, 'Outputs');
  if (isObject(template.Conditions)) checkReferences(ctx, template.Conditions, 'Conditions');
  return issues;
}

// ---- Lambda@Edge rules (CloudFront Developer Guide), which no CloudFormation spec carries ----
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-at-edge-function-restrictions.html
//   numbered version (not $LATEST, not an alias); function in us-east-1; no environment
//   variables, no VPC, no layers, no provisioned concurrency, ephemeral storage ≤ 512 MB
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-lambda-at-edge
//   viewer-request / viewer-response: memory 128 MB, timeout 5 s; origin-request / origin-response:
//   memory as Lambda (10,240 MB), timeout 30 s
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-cloudfront-trigger-events.html
//   (x86_64 only per the Lambda@Edge restrictions' "Lambda features" list)

/** Memory (MB) and timeout (s) ceilings of a Lambda@Edge function per trigger. */
export const LAMBDA_EDGE_LIMITS = {
  'viewer-request': { memoryMb: 128, timeoutS: 5 },
  'viewer-response': { memoryMb: 128, timeoutS: 5 },
  'origin-request': { memoryMb: 10_240, timeoutS: 30 },
  'origin-response': { memoryMb: 10_240, timeoutS: 30 },
} as const;

/** The us-east-1 assertion a Lambda@Edge template must carry (CloudFormation Rules). */
export const US_EAST_1_RULE = {
  Assertions: [{ Assert: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] }, AssertDescription: 'Lambda@Edge functions must be created in us-east-1 (N. Virginia)' }],
};

/**
 * Lambda@Edge rules over every CloudFront distribution's Lambda associations: the ARN is a
 * published version of a function of this template, which has no environment, VPC, layers,
 * and memory/timeout within its trigger's limits; request triggers include the body (every
 * route we serve reads POST bodies); behaviours with an origin-request trigger have an origin
 * request policy (without one CloudFront passes the function no viewer header); the template
 * asserts us-east-1.
 */
export function lambdaEdgeIssues(text: string): TemplateIssue[] {
  const template = JSON.parse(text) as Record<string, Json>;
  const resources = (isObject(template.Resources) ? template.Resources : {}) as Record<string, Record<string, Json>>;
  const issues: TemplateIssue[] = [];
  let associations = 0;
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::CloudFront::Distribution') continue;
    const config = (resource.Properties as Record<string, Json> | undefined)?.DistributionConfig;
    if (!isObject(config)) continue;
    const behaviours: Array<[string, Record<string, Json>]> = [];
    if (isObject(config.DefaultCacheBehavior)) behaviours.push([`Resources.${id}.Properties.DistributionConfig.DefaultCacheBehavior`, config.DefaultCacheBehavior]);
    if (Array.isArray(config.CacheBehaviors)) config.CacheBehaviors.forEach((b, n) => isObject(b) && behaviours.push([`Resources.${id}.Properties.DistributionConfig.CacheBehaviors[${n}]`, b]));
    for (const [path, behaviour] of behaviours) {
      const list = Array.isArray(behaviour.LambdaFunctionAssociations) ? behaviour.LambdaFunctionAssociations : [];
      list.forEach((a, n) => {
        if (!isObject(a)) return;
        associations++;
        const where = `${path}.LambdaFunctionAssociations[${n}]`;
        const event = String(a.EventType) as keyof typeof LAMBDA_EDGE_LIMITS;
        const limits = LAMBDA_EDGE_LIMITS[event];
        if (!limits) return void issues.push({ rule: 'edge-event', path: where, message: `EventType "${String(a.EventType)}" is not a Lambda@Edge trigger` });
        if (event.endsWith('-request') && a.IncludeBody !== true) issues.push({ rule: 'edge-body', path: where, message: `${event} serves POST routes: IncludeBody must be true or the function sees no body` });
        if (event === 'origin-request' && !behaviour.OriginRequestPolicyId) {
          issues.push({ rule: 'edge-headers', path, message: 'an origin-request trigger on a behaviour without OriginRequestPolicyId receives no viewer headers (no Content-Type, Authorization, x-api-key)' });
        }
        const arn = a.LambdaFunctionARN;
        const versionId = isObject(arn) && typeof arn.Ref === 'string' ? arn.Ref : undefined;
        const version = versionId ? resources[versionId] : undefined;
        if (!version || version.Type !== 'AWS::Lambda::Version') {
          return void issues.push({ rule: 'edge-version', path: `${where}.LambdaFunctionARN`, message: 'LambdaFunctionARN must be a Ref to an AWS::Lambda::Version of this template (a numbered version: not $LATEST, not an alias, not the function ARN)' });
        }
        const fnRef = (version.Properties as Record<string, Json> | undefined)?.FunctionName;
        const fnId = isObject(fnRef) && typeof fnRef.Ref === 'string' ? fnRef.Ref : undefined;
        const fn = fnId ? resources[fnId] : undefined;
        if (!fn || fn.Type !== 'AWS::Lambda::Function') return void issues.push({ rule: 'edge-version', path: `Resources.${versionId}.Properties.FunctionName`, message: 'the version must Ref an AWS::Lambda::Function of this template' });
        const p = (fn.Properties ?? {}) as Record<string, Json>;
        const fpath = `Resources.${fnId}.Properties`;
        for (const forbidden of ['Environment', 'VpcConfig', 'Layers', 'FileSystemConfig']) {
          if (forbidden in p) issues.push({ rule: 'edge-feature', path: `${fpath}.${forbidden}`, message: `Lambda@Edge functions cannot have ${forbidden} (CloudFront rejects the association)` });
        }
        if (Array.isArray(p.Architectures) && p.Architectures.some((x) => x !== 'x86_64')) issues.push({ rule: 'edge-feature', path: `${fpath}.Architectures`, message: 'Lambda@Edge runs x86_64 only' });
        const storage = isObject(p.EphemeralStorage) ? Number(p.EphemeralStorage.Size) : 512;
        if (storage > 512) issues.push({ rule: 'edge-feature', path: `${fpath}.EphemeralStorage`, message: 'Lambda@Edge allows at most 512 MB of ephemeral storage' });
        const memory = typeof p.MemorySize === 'number' ? p.MemorySize : 128;
        const timeout = typeof p.Timeout === 'number' ? p.Timeout : 3;
        if (memory > limits.memoryMb) issues.push({ rule: 'edge-limits', path: `${fpath}.MemorySize`, message: `${event} functions may use at most ${limits.memoryMb} MB, got ${memory}` });
        if (timeout > limits.timeoutS) issues.push({ rule: 'edge-limits', path: `${fpath}.Timeout`, message: `${event} functions may run at most ${limits.timeoutS} s, got ${timeout}` });
        if (typeof p.MemorySize !== 'number' || typeof p.Timeout !== 'number') issues.push({ rule: 'edge-limits', path: fpath, message: 'MemorySize and Timeout must be literal numbers so their trigger limits can be checked' });
      });
    }
  }
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::Lambda::Alias' || resource.Type === 'AWS::Lambda::ProvisionedConcurrencyConfig') {
      if (associations) issues.push({ rule: 'edge-feature', path: `Resources.${id}`, message: 'Lambda@Edge supports neither aliases nor provisioned concurrency' });
    }
  }
  if (associations) {
    const rules = isObject(template.Rules) ? Object.values(template.Rules) : [];
    const asserted = rules.some((r) => JSON.stringify(r).includes('"AWS::Region"') && JSON.stringify(r).includes('"us-east-1"'));
    if (!asserted) issues.push({ rule: 'edge-region', path: 'Rules', message: 'a Lambda@Edge template must assert AWS::Region = us-east-1 in Rules, so a stack in another region fails before creating anything' });
  }
  return issues;
}

/** Every issue of a template: the specification's and, where it associates Lambda@Edge functions, the edge rules. */
export async function checkTemplate(text: string): Promise<TemplateIssue[]> {
  return [...(await validateTemplate(text)), ...lambdaEdgeIssues(text)];
}

/** Issues as lines for a terminal. */
export function formatIssues(issues: readonly TemplateIssue[]): string {
  return issues.map((i) => `  ${i.rule}  ${i.path}: ${i.message}`).join('\n');
}
