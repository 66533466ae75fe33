// Public surface of the ensemble router (web-standard; the Lambda client is imported on its own).
export * from './circuit-breaker.ts';
export * from './confidence.ts';
export * from './escalation.ts';
export * from './in-flight.ts';
export * from './regional-tier.ts';
export * from './router.ts';
export * from './cascade.ts';
export * from './in-process-regional-tier.ts';
