// The prediction and feature cache: L1 in the isolate, L2 on Upstash Redis, a cost-aware
// policy deciding where values live. Web-standard code only.
export * from './keys.ts';
export * from './lru.ts';
export * from './price-table.ts';
export * from './policy.ts';
export * from './remote-cache.ts';
export * from './two-level-cache.ts';
export * from './cached-regional-tier.ts';
export * from './config.ts';
export * from './model-identity.ts';
export * from './prediction-caching.ts';
export * from './embedding-codecs.ts';
