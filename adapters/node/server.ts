// `npm start`: the core handler on node:http at 127.0.0.1:8787 (PORT, HOST override) with
// embedded defaults. Prints one ready line with a working curl example once every model
// is loaded and warmed; Ctrl-C (SIGINT) or SIGTERM closes it cleanly.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InferenceService } from '../../core/handler.ts';
import { withDemoPage, type DemoPageOptions } from './demo-page.ts';
import { connectionLimitsFromEnv, DEFAULT_CONNECTION_LIMITS, enforceConnectionCaps, serverOptions, type ConnectionLimits, type ConnectionStats } from './connection-limits.ts';
import { createLocalService, localServiceOptionsFromEnv, type LocalServiceOptions } from './local-service.ts';
import { createRequestListener } from './node-http.ts';

/** A started local server. */
export interface LocalServer {
  url: string;
  server: Server;
  service: InferenceService;
  /** Sockets refused by the connection caps so far. */
  connections(): ConnectionStats;
  /** Stops accepting, finishes in-flight and background work, releases models. */
  close(): Promise<void>;
}

/** Starts the server; resolves once models are warm and the port is bound. */
export async function startLocalServer(
  options: LocalServiceOptions & {
    host?: string;
    port?: number;
    log?: (line: string) => void;
    demo?: DemoPageOptions | false;
    /** Socket timeouts and caps (connection-limits.ts); defaults DEFAULT_CONNECTION_LIMITS. */
    connectionLimits?: Partial<ConnectionLimits>;
  } = {},
): Promise<LocalServer> {
  const log = options.log ?? ((line: string) => console.log(line));
  const host = options.host ?? '127.0.0.1';
  const service = createLocalService({ log, ...options });
  const states = await service.warm();
  if (states.length === 0) log(`edgeinfer: no models found under ${options.modelsRoot ?? 'models/'}; run \`npm run models\` or add models/<name>/<version>/model.json`);
  for (const state of states) {
    if (state.status === 'failed') log(`edgeinfer: model not served: ${state.error}`);
  }
  const pending = new Set<Promise<unknown>>();
  // GET / serves the demo page (edgeinfer/client in the browser) unless turned off.
  const served = options.demo === false ? service : withDemoPage(service, { ...(options.modelsRoot ? { modelsRoot: options.modelsRoot } : {}), ...options.demo });
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.connectionLimits };
  const server = createServer(serverOptions(limits), createRequestListener(served, `${host}:${options.port ?? 8787}`, pending));
  const connections = enforceConnectionCaps(server, limits);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    server,
    service,
    connections,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await Promise.allSettled([...pending]);
      await service.close();
    },
  };
}

async function main(): Promise<void> {
  const port = process.env.PORT ? Number(process.env.PORT) : 8787;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`edgeinfer: PORT must be an integer 0–65535, got "${process.env.PORT}"`);
    process.exit(2);
  }
  let local: LocalServer;
  try {
    local = await startLocalServer({ ...localServiceOptionsFromEnv(process.env), connectionLimits: connectionLimitsFromEnv(process.env), host: process.env.HOST ?? '127.0.0.1', port });
  } catch (error) {
    console.error(`edgeinfer: could not start: ${(error as Error).message}`);
    process.exit(1);
  }
  // performance.now() counts from process start in Node: this is the whole cold start.
  const readyMs = Math.round(performance.now());
  console.log(
    `edgeinfer ready on ${local.url} in ${readyMs} ms — try:\n` +
      `  curl -s ${local.url}/v1/predict -H 'content-type: application/json' ` +
      `-d '{"text":"Subject: You won! Claim your FREE prize now, click here"}'`,
  );
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`edgeinfer: ${signal}, shutting down`);
    local.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
