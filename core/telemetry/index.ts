// Telemetry: per-window counters and latency sketches, cost per prediction, Prometheus
// export, the fleet store on Redis, the dashboard. Web-standard code only.
export * from './sketch.ts';
export * from './metrics-window.ts';
export * from './cost.ts';
export * from './telemetry.ts';
export * from './prometheus.ts';
export * from './fleet-store.ts';
export * from './dashboard-data.ts';
export * from './admin-auth.ts';
export * from './otlp.ts';
