// The declarations as modules, for bundles without a file system (the edge builds): esbuild
// inlines each JSON file. test/features/embedded.test.ts keeps this list equal to the folder,
// so a view added there and forgotten here fails the tests.
import { createFeatureRepository, featureViewFrom, type FeatureRepository } from '../core/features/declarations.ts';
import airportEmbedding from './airport_embedding.json' with { type: 'json' };
import departureHour from './departure_hour.json' with { type: 'json' };
import destAirport from './dest_airport.json' with { type: 'json' };
import originAirport from './origin_airport.json' with { type: 'json' };
import route from './route.json' with { type: 'json' };
import senderDomain from './sender_domain.json' with { type: 'json' };

/** File name → parsed JSON of every declaration in this folder. */
export const EMBEDDED_FEATURE_FILES: Readonly<Record<string, unknown>> = {
  'airport_embedding.json': airportEmbedding,
  'departure_hour.json': departureHour,
  'dest_airport.json': destAirport,
  'origin_airport.json': originAirport,
  'route.json': route,
  'sender_domain.json': senderDomain,
};

/** The repository of the bundled declarations. */
export function embeddedFeatureRepository(): FeatureRepository {
  return createFeatureRepository(Object.entries(EMBEDDED_FEATURE_FILES).map(([file, raw]) => featureViewFrom(raw, `features/${file}`)));
}
