// The cascade as the handler sees it: which edge models escalate to which regional model,
// with one router per edge model version (its calibrated threshold comes from its
// model.json) and one in-flight counter for the whole isolate (saturation is a property
// of the PoP, not of a model).
import type { ModelManifest } from '../model/manifest.ts';
import type { ConfidenceMeasure } from './confidence.ts';
import { InFlightCounter } from './in-flight.ts';
import type { RegionalTier } from './regional-tier.ts';
import { DEFAULT_ROUTER_POLICY, EnsembleRouter, type RouterPolicy } from './router.ts';

/** Cascade settings of a service. */
export interface CascadeConfig {
  /** Edge model name → the regional model it escalates to. Models not listed never escalate. */
  regionalModels: Record<string, string>;
  /** What cascade.threshold applies to, unless model.json says what it was calibrated for (metrics.cascade.measure). */
  measure: ConfidenceMeasure;
  budgetMs: number;
  /** Per isolate: one gauge shared by every model. */
  maxInFlight: number;
  circuit: RouterPolicy['circuit'];
  /** Per edge model overrides of the measure, budget and circuit. */
  models?: Record<string, Partial<Pick<CascadeConfig, 'measure' | 'budgetMs' | 'circuit'>>>;
}

/** Defaults: the example pair, top-probability thresholds, DEFAULT_ROUTER_POLICY limits. */
export const DEFAULT_CASCADE_CONFIG: CascadeConfig = {
  regionalModels: { 'spam-edge': 'spam-regional' },
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
    const regionalModel = this.config.regionalModels[manifest.name];
    if (regionalModel === undefined) return undefined;
    // Keyed by sha: a new model version (new threshold) gets a fresh router and breaker.
    const key = `${manifest.name}@${manifest.sha256}`;
    let route = this.#routes.get(key);
    if (!route) {
      const own = this.config.models?.[manifest.name] ?? {};
      const { maxInFlight } = this.config;
      const budgetMs = own.budgetMs ?? this.config.budgetMs;
      const circuit = own.circuit ?? this.config.circuit;
      const measure = own.measure ?? calibratedMeasure(manifest) ?? this.config.measure;
      route = {
        regionalModel,
        router: new EnsembleRouter({
          policy: { confidence: { measure, threshold: manifest.cascade.threshold }, budgetMs, maxInFlight, circuit },
          ...(this.regional ? { regional: this.regional } : {}),
          inFlight: this.inFlight,
        }),
      };
      this.#routes.set(key, route);
    }
    return route;
  }
}

/** The measure `npm run calibrate` chose the threshold for (metrics.cascade.measure), if any. */
function calibratedMeasure(manifest: ModelManifest): ConfidenceMeasure | undefined {
  const cascade = (manifest.metrics as { cascade?: { measure?: unknown } } | undefined)?.cascade;
  return cascade?.measure === 'top' || cascade?.measure === 'margin' ? cascade.measure : undefined;
}
