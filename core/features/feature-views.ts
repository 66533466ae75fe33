// Feature views, as a feature store declares them: an entity key taken from the request,
// named numeric fields with defaults for unknown entities, a version (bumped when the
// computation changes, so old values are never read) and a TTL.
import { parseMessage } from '../preprocess/email-hash.ts';

/** One feature view. Values are numbers; an absent entity gets `defaults`. */
export interface FeatureView {
  name: string;
  version: number;
  /** The entity of a request, or null when the request has none (then defaults apply). */
  entityOf(text: string): string | null;
  /** Field names and the values used when the entity is absent. */
  defaults: Record<string, number>;
  /** Lifetime of materialized values, seconds. */
  ttlSeconds: number;
}

/** The sender's domain from the From header, lower-cased; null when there is no address. */
export function senderDomain(text: string): string | null {
  const from = parseMessage(text).from;
  const match = /@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/.exec(from);
  return match ? (match[1] as string).toLowerCase().replace(/\.$/, '') : null;
}

/**
 * Per-sender-domain statistics from the training split: message count, smoothed spam
 * rate (a Beta(1, 1) prior, so one message does not say 0 or 1), and the log count.
 */
export const SENDER_DOMAIN_VIEW: FeatureView = {
  name: 'sender_domain',
  version: 1,
  entityOf: senderDomain,
  defaults: { messages: 0, spamRate: 0.5, logMessages: 0 },
  ttlSeconds: 30 * 24 * 3600,
};

/** Feature values of one entity from raw counts (the batch job and tests share this). */
export function senderDomainFeatures(messages: number, spam: number): Record<string, number> {
  return { messages, spamRate: (spam + 1) / (messages + 2), logMessages: Math.log1p(messages) };
}

/** Feature views this build knows, by name (EDGEINFER_FEATURES picks among them). */
export const FEATURE_VIEWS: Readonly<Record<string, FeatureView>> = { [SENDER_DOMAIN_VIEW.name]: SENDER_DOMAIN_VIEW };

/** The views named in a comma-separated list; throws naming an unknown one. */
export function featureViewsByName(list: string): FeatureView[] {
  return list
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => {
      const view = FEATURE_VIEWS[name];
      if (!view) throw new Error(`unknown feature view "${name}"; this build has: ${Object.keys(FEATURE_VIEWS).join(', ')}`);
      return view;
    });
}
