// The cascade as the handler sees it: an edge model escalates to the regional model its
// model.json names (`cascade.regional`; a model is data, the core names none), with one
// router per edge model version (its calibrated threshold comes from its
// model.json) and one in-flight counter for the whole isolate (saturation is a property
// of the PoP, not of a model).
import type { ModelManifest } from '../model/manifest.ts';
import type { ConfidenceMeasure, ConfidencePolicy } from './confidence.ts';
import { InFlightCounter } from './in-flight.ts';
import type { RegionalTier } from './regional-tier.ts';
import { DEFAULT_ROUTER_POLICY, EnsembleRouter, type RouterPolicy } from './router.ts';

/** Cascade settings of a service. */
export interface CascadeConfig {
  /**
   * False: no model escalates, whatever its model.json says (every answer is the edge
   * model's). Default true: a model escalates to its `cascade.regional`.
   */
  enabled?: boolean;
  /** What cascade.threshold applies to, unless model.json says what it was calibrated for (metrics.cascade.measure). */
  measure: ConfidenceMeasure;
  budgetMs: number;
  /** Per isolate: one gauge shared by every model. */
  maxInFlight: number;
  circuit: RouterPolicy['circuit'];
  /** Per edge model overrides of the measure, budget and circuit. */
  models?: Record<string, Partial<Pick<CascadeConfig, 'measure' | 'budgetMs' | 'circuit'>>>;
}

/** Defaults: pairs from model.json, top-probability thresholds, DEFAULT_ROUTER_POLICY limits. */
export const DEFAULT_CASCADE_CONFIG: CascadeConfig = {
  enabled: true,
  measure: 'top',
  ...DEFAULT_ROUTER_POLICY,
};

/** The router of one edge model and where it escalates. */
export interface CascadeRoute {
  router: EnsembleRouter;
  regionalModel: string;
}

/** Routers for a service's edge models. */
export class Cascade {
  readonly config: CascadeConfig;
  readonly regional: RegionalTier | undefined;
  readonly inFlight: InFlightCounter;
  readonly #routes = new Map<string, CascadeRoute>();

  constructor(config: CascadeConfig, regional: RegionalTier | undefined) {
    this.config = config;
    this.regional = regional;
    this.inFlight = new InFlightCounter(config.maxInFlight);
  }

  /** The route for an edge model, or undefined when the model does not escalate. */
  routeFor(manifest: ModelManifest): CascadeRoute | undefined {
    // The manifest parser refuses `cascade.regional` on a model without a classification output.
    const regionalModel = this.config.enabled === false ? undefined : manifest.cascade.regional;
    if (regionalModel === undefined) return undefined;
    // Keyed by sha: a new model version (new threshold) gets a fresh router and breaker.
    const key = `${manifest.name}@${manifest.sha256}`;
    let route = this.#routes.get(key);
    if (!route) {
      const own = (this.config.models && Object.hasOwn(this.config.models, manifest.name) ? this.config.models[manifest.name] : undefined) ?? {};
      const { maxInFlight } = this.config;
      const budgetMs = own.budgetMs ?? this.config.budgetMs;
      const circuit = own.circuit ?? this.config.circuit;
      route = {
        regionalModel,
        router: new EnsembleRouter({
          policy: { confidence: edgeConfidencePolicy(manifest, this.config), budgetMs, maxInFlight, circuit },
          ...(this.regional ? { regional: this.regional } : {}),
          inFlight: this.inFlight,
        }),
      };
      this.#routes.set(key, route);
    }
    return route;
  }
}

/**
 * The confidence policy of an edge model: its calibrated threshold, and the measure from a
 * per-model override, else the one calibrate recorded, else the config's. The client's
 * local mode (edgeinfer/client) calls this too, so it escalates exactly when the server would.
 */
export function edgeConfidencePolicy(
  manifest: ModelManifest,
  config: Pick<CascadeConfig, 'measure' | 'models'> = DEFAULT_CASCADE_CONFIG,
): ConfidencePolicy {
  const own = config.models && Object.hasOwn(config.models, manifest.name) ? config.models[manifest.name] : undefined;
  const measure = own?.measure ?? calibratedMeasure(manifest) ?? config.measure;
  return { measure, threshold: manifest.cascade.threshold };
}

/** The measure `npm run calibrate` chose the threshold for (metrics.cascade.measure), if any. */
function calibratedMeasure(manifest: ModelManifest): ConfidenceMeasure | undefined {
  const cascade = (manifest.metrics as { cascade?: { measure?: unknown } } | undefined)?.cascade;
  return cascade?.measure === 'top' || cascade?.measure === 'margin' ? cascade.measure : undefined;
}
