// What CloudFront hands each Lambda@Edge function, modelled from the built template.json: the
// behaviour a path selects (CacheBehaviors in order, then the default), its trigger, and the
// request headers the event carries under that behaviour's cache and origin request policies.
// Sources (no account was at hand to observe a real event):
//   - viewer-request events carry the viewer's request headers as received:
//     https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html
//   - origin requests carry the headers CloudFront adds to every origin request (Host — the
//     origin's domain unless forwarded —, User-Agent "Amazon CloudFront" unless forwarded,
//     X-Amz-Cf-Id, Via, X-Forwarded-For) plus those the cache and origin request policies name:
//     https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-origin-requests.html,
//     https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_OriginRequestPolicy.html
//   - AllViewerExceptHostHeader: every viewer header except Host; with caching disabled it also
//     forwards Authorization (repost.aws knowledge-center/cloudfront-authorization-header)
//   - CachingDisabled puts no header in the cache key:
//     https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
//   - hop-by-hop headers never reach an origin (Connection, Keep-Alive, Proxy-*, TE, Upgrade …):
//     https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorCustomOrigin.html
import type { CloudFrontHeaders, CloudFrontRequestEvent } from '../../../adapters/lambda-edge/lambda-edge.ts';
import { CLOUDFRONT_MANAGED_POLICIES } from '../../../build/targets/lambda-edge.ts';

type Json = Record<string, any>;

/** The behaviour CloudFront applies to a path, read from the template. */
export interface Behaviour {
  pathPattern: string;
  trigger: 'viewer-request' | 'origin-request';
  includeBody: boolean;
  cachePolicyId?: string;
  originRequestPolicyId?: string;
}

/** CloudFront path patterns: `*` any run of characters, `?` one; matched against the whole path. */
function matches(pattern: string, path: string): boolean {
  const normalized = pattern.startsWith('/') || pattern === '*' ? pattern : `/${pattern}`;
  const regex = new RegExp(`^${normalized.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return regex.test(path);
}

/** The behaviour for `path`: the first CacheBehavior whose pattern matches, else the default. */
export function behaviourFor(template: Json, path: string): Behaviour {
  const config = template.Resources.Distribution.Properties.DistributionConfig as Json;
  const pathOnly = path.split('?')[0]!;
  const chosen = ((config.CacheBehaviors ?? []) as Json[]).find((b) => matches(b.PathPattern, pathOnly)) ?? { ...config.DefaultCacheBehavior, PathPattern: '*' };
  const association = (chosen.LambdaFunctionAssociations as Json[])[0]!;
  return {
    pathPattern: chosen.PathPattern,
    trigger: association.EventType,
    includeBody: association.IncludeBody === true,
    ...(chosen.CachePolicyId ? { cachePolicyId: chosen.CachePolicyId } : {}),
    ...(chosen.OriginRequestPolicyId ? { originRequestPolicyId: chosen.OriginRequestPolicyId } : {}),
  };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const DISTRIBUTION = 'd111111abcdef8.cloudfront.net';
const ORIGIN = 'example.com';

/** Viewer headers an origin request policy passes on (by managed policy id). */
function originPolicyKeeps(policyId: string | undefined, name: string): boolean {
  if (policyId === undefined) return false;
  if (policyId === CLOUDFRONT_MANAGED_POLICIES.AllViewerExceptHostHeader) return name !== 'host';
  throw new Error(`no model of origin request policy ${policyId}: add it from the managed-policies page`);
}

/** Viewer headers a cache policy puts in the cache key (and so passes on). */
function cachePolicyKeeps(policyId: string | undefined, _name: string): boolean {
  if (policyId === undefined || policyId === CLOUDFRONT_MANAGED_POLICIES.CachingDisabled) return false;
  throw new Error(`no model of cache policy ${policyId}`);
}

/** The headers of the event CloudFront gives the behaviour's function for a viewer request. */
export function headersCloudFrontPasses(viewer: Record<string, string>, behaviour: Pick<Behaviour, 'trigger' | 'cachePolicyId' | 'originRequestPolicyId'>, clientIp: string, bodyBytes: number): CloudFrontHeaders {
  const out: CloudFrontHeaders = {};
  const set = (name: string, value: string) => (out[name.toLowerCase()] = [{ key: name, value }]);
  const lower = Object.fromEntries(Object.entries(viewer).map(([k, v]) => [k.toLowerCase(), v]));
  if (behaviour.trigger === 'viewer-request') {
    set('Host', DISTRIBUTION);
    for (const [name, value] of Object.entries(lower)) if (!HOP_BY_HOP.has(name) && name !== 'host') set(name, value);
    return out;
  }
  for (const [name, value] of Object.entries(lower)) {
    if (HOP_BY_HOP.has(name)) continue;
    if (originPolicyKeeps(behaviour.originRequestPolicyId, name) || cachePolicyKeeps(behaviour.cachePolicyId, name)) set(name, value);
  }
  // Added by CloudFront to every origin request.
  if (!out.host) set('Host', ORIGIN);
  if (!out['user-agent']) set('User-Agent', 'Amazon CloudFront');
  set('Via', '2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)');
  set('X-Forwarded-For', clientIp);
  set('X-Amz-Cf-Id', 'XpqnTS3T8q7Oz3t0K7mFl6p_Nh5JD2gJQ4v7NqsLd0NqL3E3mzqYtw==');
  if (bodyBytes > 0) set('Content-Length', String(bodyBytes));
  return out;
}

/** The event CloudFront gives the function of the behaviour `path` selects, per the template. */
export function distributionEvent(
  template: Json,
  request: { method: string; path: string; headers: Record<string, string>; body?: string },
  limits: Record<Behaviour['trigger'], number>,
  override?: Partial<Behaviour>,
): { behaviour: Behaviour; event: CloudFrontRequestEvent } {
  const behaviour = { ...behaviourFor(template, request.path), ...override };
  const [uri, querystring = ''] = request.path.split('?') as [string, string?];
  const bytes = request.body === undefined ? undefined : Buffer.from(request.body);
  const limit = limits[behaviour.trigger];
  const clientIp = '203.0.113.178';
  const event: CloudFrontRequestEvent = {
    Records: [
      {
        cf: {
          config: { distributionDomainName: DISTRIBUTION, distributionId: 'EDFDVBD6EXAMPLE', eventType: behaviour.trigger, requestId: '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==' },
          request: {
            clientIp,
            method: request.method,
            uri,
            querystring,
            headers: headersCloudFrontPasses(request.headers, behaviour, clientIp, bytes?.length ?? 0),
            ...(bytes && behaviour.includeBody ? { body: { inputTruncated: bytes.length > limit, action: 'read-only', encoding: 'base64' as const, data: bytes.subarray(0, limit).toString('base64') } } : {}),
          },
        },
      },
    ],
  };
  return { behaviour, event };
}
