// Phased rollout of model versions, per model: a weighted traffic split sticky by a request
// key, a canary judged against its baseline (error rate and p99 by a configured factor, with
// automatic hold or rollback and an optional ramp of weights), and shadow mode (a candidate
// answers the same request after the response; agreement is counted). State lives in the
// isolate: each isolate judges its own traffic (fleet-wide coordination is not built yet).
import type { CoreRequest } from '../http/core-request.ts';
import { JsonReply, type RouteResult } from '../http/reply.ts';
import { HttpError } from '../http/errors.ts';
import { SeriesFamily } from '../telemetry/metrics-window.ts';
import { LatencySketch } from '../telemetry/sketch.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import { pickByWeight, unitInterval } from './assignment.ts';

/** How a canary is judged and what a breach does. */
export interface CanaryPolicy {
  /** The version under test (an arm of the split). */
  version: string;
  /** What it is compared with (default: the other arm with the largest weight). */
  baseline?: string;
  /** Breach when the canary's error rate exceeds factor × max(baseline's, errorRateFloor) (default 2). */
  errorRateFactor?: number;
  /** Error rate treated as the baseline's when the baseline has (almost) none (default 0.005). */
  errorRateFloor?: number;
  /** Breach when the canary's p99 exceeds factor × the baseline's p99 (default 1.5). */
  p99Factor?: number;
  /** Requests each of the two arms needs, per step, before the canary is judged (default 200). */
  minRequests?: number;
  /** `rollback` (default): the canary's weight drops to 0. `hold`: the weights stay and the ramp stops. */
  onBreach?: 'hold' | 'rollback';
  /**
   * Ramp: the canary's share of traffic at each step (e.g. [0.01, 0.1, 0.5, 1]); after
   * minRequests healthy requests per arm the next step starts. Without steps, the split's weights hold.
   */
  steps?: number[];
}

/** The rollout plan of one model. */
export interface RolloutPlan {
  /** Version → weight (any positive scale, e.g. {"1": 90, "2": 10}). */
  split: Record<string, number>;
  /** Request headers whose value makes assignment sticky, first present wins (default x-user-id, x-session-id). */
  keyHeaders?: string[];
  canary?: CanaryPolicy;
  /** A version that answers every request again after the response, for comparison only. */
  shadow?: { version: string; /** Share of requests shadowed (default 1). */ sample?: number };
}

/** Model name → its plan. */
export type RolloutConfig = Record<string, RolloutPlan>;

/** Where a canary stands. */
export type CanaryState = 'running' | 'held' | 'rolled_back' | 'promoted';

/** What /metrics and tests read about one model's rollout. */
export interface RolloutStatus {
  model: string;
  weights: Record<string, number>;
  canary?: { version: string; baseline: string; state: CanaryState; step: number; reason?: string; arms: Record<string, ArmStats> };
  shadow?: { version: string; agree: number; disagree: number; errors: number };
}

/** Outcomes of one arm in the current canary step. */
export interface ArmStats {
  requests: number;
  errors: number;
  errorRate: number;
  p99Ms: number | null;
}

const ROLLOUT_REQUESTS = new SeriesFamily('edgeinfer_rollout_requests_total', ['model', 'version', 'outcome']);
const ROLLOUT_LATENCY = new SeriesFamily('edgeinfer_rollout_latency_ms', ['model', 'version']);
const SHADOW = new SeriesFamily('edgeinfer_shadow_total', ['model', 'version', 'result']);

class Arm {
  requests = 0;
  errors = 0;
  latency = new LatencySketch();

  stats(): ArmStats {
    return { requests: this.requests, errors: this.errors, errorRate: this.requests ? this.errors / this.requests : 0, p99Ms: this.latency.count ? this.latency.quantile(0.99) : null };
  }
}

/** The rollout of one model in this isolate. */
export class ModelRollout {
  readonly model: string;
  readonly plan: RolloutPlan;
  readonly #keyHeaders: string[];
  #weights: Array<[string, number]>;
  #state: CanaryState = 'running';
  #step = 0;
  #reason: string | undefined;
  #arms = new Map<string, Arm>();
  readonly #baseline: string | undefined;
  #shadowCounts = { agree: 0, disagree: 0, errors: 0 };
  /** Keyless requests are shadowed by accumulated credit: exactly `sample` of them. */
  #shadowCredit = 0;

  constructor(model: string, plan: RolloutPlan) {
    const entries = Object.entries(plan.split);
    if (entries.length === 0 || !entries.every(([, w]) => Number.isFinite(w) && w >= 0) || !entries.some(([, w]) => w > 0)) {
      throw new Error(`rollout of "${model}": split needs at least one version with a positive weight, got ${JSON.stringify(plan.split)}`);
    }
    const canary = plan.canary;
    if (canary && !Object.hasOwn(plan.split, canary.version)) throw new Error(`rollout of "${model}": canary version "${canary.version}" is not in the split`);
    if (canary?.steps && !canary.steps.every((s) => s >= 0 && s <= 1)) throw new Error(`rollout of "${model}": canary steps are shares of traffic in [0, 1]`);
    this.model = model;
    this.plan = plan;
    this.#keyHeaders = (plan.keyHeaders ?? ['x-user-id', 'x-session-id']).map((h) => h.toLowerCase());
    this.#weights = entries.map(([v, w]) => [v, w]);
    if (canary) {
      this.#baseline =
        canary.baseline ??
        entries
          .filter(([v]) => v !== canary.version)
          .sort((a, b) => b[1] - a[1])[0]?.[0];
      if (!this.#baseline) throw new Error(`rollout of "${model}": the canary needs a baseline version (another arm of the split)`);
      if (canary.steps?.length) this.#applyStep(0);
    }
  }

  /** The version for a request: sticky by its key header, else by its text, else drawn at random. */
  assign(request: CoreRequest, text: string | undefined): string {
    const key = this.#stickyKey(request);
    const point =
      key !== null ? unitInterval(this.model, key) : text !== undefined ? unitInterval(this.model, text) : crypto.getRandomValues(new Uint32Array(1))[0]! / 4294967296;
    return pickByWeight(this.#weights, point) as string;
  }

  /** Whether this request should also run on the shadow version (deterministic per key). */
  shouldShadow(request: CoreRequest, served: string): boolean {
    const shadow = this.plan.shadow;
    if (!shadow || shadow.version === served) return false;
    const sample = shadow.sample ?? 1;
    if (sample >= 1) return true;
    const key = this.#stickyKey(request);
    if (key !== null) return unitInterval(`${this.model}\u0000shadow`, key) < sample;
    this.#shadowCredit += sample;
    if (this.#shadowCredit < 1 - 1e-9) return false;
    this.#shadowCredit -= 1;
    return true;
  }

  /** Records one answered (or failed) request of `version`; judges the canary. */
  record(version: string, ok: boolean, ms: number, telemetry: Telemetry | undefined): void {
    if (telemetry) {
      const w = telemetry.current();
      w.inc(ROLLOUT_REQUESTS.key(this.model, version, ok ? 'ok' : 'error'));
      w.observe(ROLLOUT_LATENCY.key(this.model, version), ms);
    }
    let arm = this.#arms.get(version);
    if (!arm) this.#arms.set(version, (arm = new Arm()));
    arm.requests++;
    if (!ok) arm.errors++;
    arm.latency.add(ms);
    this.#judge();
  }

  /** Records the shadow's answer against the served one. */
  recordShadow(result: 'agree' | 'disagree' | 'error', telemetry: Telemetry | undefined): void {
    if (result === 'agree') this.#shadowCounts.agree++;
    else if (result === 'disagree') this.#shadowCounts.disagree++;
    else this.#shadowCounts.errors++;
    telemetry?.current().inc(SHADOW.key(this.model, this.plan.shadow?.version ?? '', result));
  }

  status(): RolloutStatus {
    const weights = Object.fromEntries(this.#weights);
    const canary = this.plan.canary;
    return {
      model: this.model,
      weights,
      ...(canary
        ? {
            canary: {
              version: canary.version,
              baseline: this.#baseline as string,
              state: this.#state,
              step: this.#step,
              ...(this.#reason ? { reason: this.#reason } : {}),
              arms: Object.fromEntries([...this.#arms].map(([v, a]) => [v, a.stats()])),
            },
          }
        : {}),
      ...(this.plan.shadow ? { shadow: { version: this.plan.shadow.version, ...this.#shadowCounts } } : {}),
    };
  }

  /** The value of the first key header the request carries, or null. */
  #stickyKey(request: CoreRequest): string | null {
    for (const header of this.#keyHeaders) {
      const value = request.headers.get(header);
      if (value !== null) return value;
    }
    return null;
  }

  #judge(): void {
    const canary = this.plan.canary;
    if (!canary || this.#state !== 'running') return;
    const minRequests = canary.minRequests ?? 200;
    const c = this.#arms.get(canary.version);
    const b = this.#arms.get(this.#baseline as string);
    if (!c || !b || c.requests < minRequests || b.requests < minRequests) return;
    const cs = c.stats();
    const bs = b.stats();
    const errorFactor = canary.errorRateFactor ?? 2;
    const p99Factor = canary.p99Factor ?? 1.5;
    const errorBar = errorFactor * Math.max(bs.errorRate, canary.errorRateFloor ?? 0.005);
    let breach: string | undefined;
    if (cs.errorRate > errorBar) {
      breach = `error rate ${pct(cs.errorRate)} > ${errorFactor} × baseline ${pct(bs.errorRate)} (bar ${pct(errorBar)})`;
    } else if (cs.p99Ms !== null && bs.p99Ms !== null && cs.p99Ms > p99Factor * bs.p99Ms) {
      breach = `p99 ${cs.p99Ms.toFixed(2)} ms > ${p99Factor} × baseline ${bs.p99Ms.toFixed(2)} ms`;
    }
    if (breach) {
      this.#reason = `step ${this.#step}: ${breach}`;
      if ((canary.onBreach ?? 'rollback') === 'hold') {
        this.#state = 'held';
      } else {
        this.#state = 'rolled_back';
        this.#weights = this.#weights.map(([v, w]) => [v, v === canary.version ? 0 : w]);
        if (!this.#weights.some(([, w]) => w > 0)) this.#weights = [[this.#baseline as string, 1]];
      }
      return;
    }
    const steps = canary.steps;
    if (steps?.length && this.#step + 1 < steps.length) this.#applyStep(this.#step + 1);
    else if (steps?.length) this.#state = 'promoted';
  }

  /** Canary gets `steps[i]` of the traffic, the baseline the rest; each step is judged on its own requests. */
  #applyStep(i: number): void {
    const canary = this.plan.canary as CanaryPolicy;
    const share = (canary.steps as number[])[i] as number;
    this.#step = i;
    this.#weights = [
      [this.#baseline as string, 1 - share],
      [canary.version, share],
    ];
    this.#arms = new Map();
  }
}

/** Every model's rollout, and the wrapper the predict route runs through. */
export class Rollout {
  readonly #models = new Map<string, ModelRollout>();
  /** Requests whose version is fixed (shadow runs) and the version each request got. */
  readonly #forced = new WeakMap<CoreRequest, string>();
  readonly #assigned = new WeakMap<CoreRequest, { model: ModelRollout; version: string }>();
  /** Some model has a shadow: requests are copied before the route reads them. */
  readonly #hasShadows: boolean;

  constructor(config: RolloutConfig) {
    for (const [model, plan] of Object.entries(config)) this.#models.set(model, new ModelRollout(model, plan));
    this.#hasShadows = [...this.#models.values()].some((m) => m.plan.shadow);
  }

  /** The rollout of `model`, if it has one. */
  get(model: string): ModelRollout | undefined {
    return this.#models.get(model);
  }

  /** Called by the predict route once it knows the model: the version to serve, or undefined (latest). */
  versionFor(model: string, request: CoreRequest, text: string | undefined): string | undefined {
    const forced = this.#forced.get(request);
    if (forced !== undefined) return forced;
    const rollout = this.#models.get(model);
    if (!rollout) return undefined;
    const version = rollout.assign(request, text);
    this.#assigned.set(request, { model: rollout, version });
    return version;
  }

  /**
   * Runs the predict route for `request`, records the outcome per arm and, when the model has
   * a shadow, answers the same request with the shadow version after the response.
   */
  async serve<S extends { telemetry?: Telemetry }, C extends { waitUntil?: (p: Promise<unknown>) => void }>(
    request: CoreRequest,
    service: S,
    context: C,
    run: (request: CoreRequest, service: S, context: C) => Promise<RouteResult>,
  ): Promise<RouteResult> {
    // Shadow runs need waitUntil: without one, no copy (a web Request's clone tees its body).
    const copy = this.#hasShadows && context.waitUntil ? copyForShadow(request) : undefined;
    const started = performance.now();
    let response: RouteResult;
    try {
      response = await run(request, service, context);
    } catch (error) {
      const assigned = this.#assigned.get(request);
      // Client mistakes (4xx) say nothing about a version; failures to serve (5xx) do.
      if (assigned && !(error instanceof HttpError && error.status < 500)) assigned.model.record(assigned.version, false, performance.now() - started, service.telemetry);
      throw error;
    }
    const assigned = this.#assigned.get(request);
    if (!assigned) return response;
    assigned.model.record(assigned.version, response.status < 500, performance.now() - started, service.telemetry);
    if (copy && context.waitUntil && assigned.model.shouldShadow(request, assigned.version)) {
      const shadowVersion = assigned.model.plan.shadow?.version as string;
      this.#forced.set(copy, shadowVersion);
      const servedLabel = labelOf(response);
      // Shadow answers are not counted as predictions: only their agreement is.
      const quiet = { ...service, telemetry: undefined };
      context.waitUntil(
        Promise.all([servedLabel, run(copy, quiet, context).then((r) => (r.status === 200 ? labelOf(r) : undefined))])
          .then(([served, shadow]) => {
            if (shadow === undefined || served === undefined) assigned.model.recordShadow('error', service.telemetry);
            else assigned.model.recordShadow(shadow === served ? 'agree' : 'disagree', service.telemetry);
          })
          .catch(() => assigned.model.recordShadow('error', service.telemetry)),
      );
    }
    return response;
  }

  /** Status of every model's rollout (for /metrics and /v1/rollout). */
  status(): RolloutStatus[] {
    return [...this.#models.values()].map((m) => m.status());
  }
}

/**
 * A second request for the shadow run: a web Request is cloned (its body is read twice); a
 * bodiless one (the body came as RequestContext.body, which both runs read) is copied.
 */
function copyForShadow(request: CoreRequest): CoreRequest | undefined {
  if (request instanceof Request) return request.clone();
  return request.body === null ? { method: request.method, url: request.url, headers: request.headers, body: null } : undefined;
}

/** The `label` of a predict answer, without consuming it (a Response is cloned). */
async function labelOf(result: RouteResult): Promise<string | undefined> {
  try {
    const body = (result instanceof JsonReply ? result.body : await result.clone().json()) as { label?: unknown };
    return typeof body?.label === 'string' ? body.label : undefined;
  } catch {
    return undefined;
  }
}

function pct(v: number): string {
  return `${(v * 100).toFixed(2)}%`;
}
