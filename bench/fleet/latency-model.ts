// The network half of bench:fleet: a table of round trips (what each leg of a request
// costs on the wire, per kind of PoP) and the one function that adds the legs a request
// actually took to the compute measured on this machine. Nothing here is measured by the
// bench; every number says where it comes from, and `assumed` marks the ones no published
// figure gave (change them with the bench's flags to see how the answer moves).
//
// The deployment modelled: the regional Lambda and the Upstash primary in us-east-1
// (N. Virginia); an Upstash Global database with read regions us-west-1 and eu-central-1,
// so every PoP reads from a replica in or next to its own metro (Upstash routes reads to
// the nearest read region; writes go to the primary and replicate). Cache writes happen
// after the response (waitUntil), so they are never on a request's critical path.

/** One modelled round trip, milliseconds, with its source. */
export interface RoundTrip {
  ms: number;
  source: string;
  /** True when no published figure gave this value: it is a planning assumption. */
  assumed?: boolean;
}

/** A kind of point of presence and its share of the traffic. */
export interface PopProfile {
  name: string;
  where: string;
  /** Share of requests served here (the mix sums to 1). */
  share: number;
  /** User ↔ PoP (the last mile plus the ISP to the PoP). */
  userRtt: RoundTrip;
  /** PoP ↔ the nearest Upstash replica (one GET). */
  upstashRtt: RoundTrip;
  /** PoP ↔ the region of the regional Lambda (one Invoke request on a warm connection). */
  regionalRtt: RoundTrip;
}

/** The whole table. */
export interface LatencyModel {
  pops: PopProfile[];
  /** Lambda's Invoke front end on top of the wire round trip (warm function, warm connection). */
  lambdaInvokeOverhead: RoundTrip;
  /** The latency target the fleet is judged against (server side plus modelled network). */
  targetMs: number;
  mixSource: string;
}

const USER_RTT: RoundTrip = {
  ms: 10,
  source:
    'a PoP within ~300 miles of the user: ~10 ms RTT at ~30 miles of fiber per ms of RTT (J. Dilley, "How Many Edge Sites Will It Take?", Data Center Knowledge, 2018); 4G radio access alone adds ~15 ms (same source), so mobile users sit above this',
  assumed: true,
};
const UPSTASH_SAME_METRO: RoundTrip = {
  ms: 2,
  source:
    '"1 ms latency is easy with Redis when the database and clients are in the same region" (Upstash, "5 ms Global Redis Latency with Edge Caching", blog.upstash.com/edge-caching-benchmark) plus 1 ms assumed from the PoP to the region\'s data centres; reads go to the nearest read region (upstash.com/docs/redis/features/globaldatabase)',
};

/** Defaults: three PoPs (near, same continent, other continent), one regional Lambda in us-east-1. */
export const DEFAULT_LATENCY_MODEL: LatencyModel = {
  pops: [
    {
      name: 'near',
      where: 'PoP in N. Virginia: the metro of us-east-1 (regional Lambda, Upstash primary)',
      share: 0.4,
      userRtt: USER_RTT,
      upstashRtt: UPSTASH_SAME_METRO,
      regionalRtt: {
        ms: 2,
        source: 'same metro: inter-AZ RTTs in one AWS region measured 0.25-3.4 ms (best of 50 pings, "Measuring AWS Region and AZ Latency", xkyle.com)',
      },
    },
    {
      name: 'continent',
      where: 'PoP in N. California (Upstash read region us-west-1), Lambda in us-east-1',
      share: 0.3,
      userRtt: USER_RTT,
      upstashRtt: UPSTASH_SAME_METRO,
      regionalRtt: {
        ms: 72.7,
        source: 'us-west-1 → us-east-1 average RTT 72.7 ms ("Latency Between AWS Global Regions" table, cloudping-style EC2 pings, as tabulated in "AWS Regions", acomputerscientistlearnsaws.blogspot.com, 2017)',
      },
    },
    {
      name: 'far',
      where: 'PoP in Frankfurt (Upstash read region eu-central-1), Lambda in us-east-1',
      share: 0.3,
      userRtt: USER_RTT,
      upstashRtt: UPSTASH_SAME_METRO,
      regionalRtt: {
        ms: 88.7,
        source: 'eu-central-1 ↔ us-east-1 average RTT 88.6-88.7 ms (same table)',
      },
    },
  ],
  lambdaInvokeOverhead: {
    ms: 10,
    source:
      'the Invoke API front end of a warm function, beyond the wire: no provider figure found; user reports of ~30 ms per extra AWS layer on a browser round trip (forum.serverless.com "Lambda call latency") bound it loosely. Locally the SDK adds ~0.3 ms (bench:escalation), which is inside the measured compute',
    assumed: true,
  },
  targetMs: 20,
  mixSource: 'assumed traffic mix (40 % near, 30 % same continent, 30 % other continent): change it with --mix near=0.4,continent=0.3,far=0.3',
};

/** What one request did, as the handler's answer and the cache counters show it. */
export interface RequestPath {
  /** Server-side wall time measured on this machine, ms: handler, edge model, local L2 stand-in, in-process regional model. */
  computeMs: number;
  /** L2 GETs made before the answer (0 when L1 answered or the policy skipped L2). */
  l2Gets: number;
  /** Regional Lambda calls made (0 when the edge answered or a cache held the regional answer). */
  regionalCalls: number;
}

/** The modelled network legs of one request and its total, ms. */
export interface ModelledLatency {
  user: number;
  upstash: number;
  regional: number;
  network: number;
  total: number;
}

/**
 * Adds the network legs a request took to its measured compute: always the user ↔ PoP
 * round trip; one PoP ↔ Upstash round trip per L2 GET; per regional call the PoP ↔ region
 * round trip plus the Invoke front end. Legs are sequential in the handler (edge lookup,
 * edge model, then the regional lookup and call), so they add.
 */
export function modelLatency(pop: PopProfile, invokeOverheadMs: number, path: RequestPath): ModelledLatency {
  const user = pop.userRtt.ms;
  const upstash = path.l2Gets * pop.upstashRtt.ms;
  const regional = path.regionalCalls * (pop.regionalRtt.ms + invokeOverheadMs);
  const network = user + upstash + regional;
  return { user, upstash, regional, network, total: path.computeMs + network };
}

/** The latency the cost-aware policy should expect a regional call to take from `pop` (the wire, the front end and `computeMs`). */
export function regionalCallMs(pop: PopProfile, invokeOverheadMs: number, computeMs: number): number {
  return pop.regionalRtt.ms + invokeOverheadMs + computeMs;
}

/** Picks a PoP per request by the mix, from a uniform draw in [0, 1). */
export function popIndexFor(pops: readonly PopProfile[], u: number): number {
  let acc = 0;
  for (let i = 0; i < pops.length; i++) {
    acc += (pops[i] as PopProfile).share;
    if (u < acc) return i;
  }
  return pops.length - 1;
}

/** The model with the traffic mix replaced ("near=0.5,far=0.5"); shares must name known PoPs and sum to 1. */
export function withMix(model: LatencyModel, mix: string): LatencyModel {
  const shares = new Map(
    mix.split(',').map((part) => {
      const [name, value] = part.split('=');
      return [name?.trim() ?? '', Number(value)] as const;
    }),
  );
  for (const name of shares.keys()) if (!model.pops.some((p) => p.name === name)) throw new Error(`--mix: unknown PoP "${name}" (known: ${model.pops.map((p) => p.name).join(', ')})`);
  const pops = model.pops.map((p) => ({ ...p, share: shares.get(p.name) ?? 0 }));
  const total = pops.reduce((s, p) => s + p.share, 0);
  if (!(Math.abs(total - 1) < 1e-9) || pops.some((p) => !(p.share >= 0))) throw new Error(`--mix: shares must be ≥ 0 and sum to 1, got ${total}`);
  return { ...model, pops: pops.filter((p) => p.share > 0), mixSource: `traffic mix from --mix ${mix}` };
}
