// Conformance of the node server (`npm start`'s handler over node:http): the golden
// requests over real HTTP against the edge model repository on the micro engine.
import { startLocalServer } from '../../../adapters/node/server.ts';
import { CONFORMANCE_ADMIN_TOKEN, defineConformanceSuite, edgeModelsRoot } from '../conformance.ts';

defineConformanceSuite('node server', async () => {
  const server = await startLocalServer({
    port: 0,
    modelsRoot: edgeModelsRoot(),
    micro: true,
    regional: { kind: 'none' },
    config: { adminToken: CONFORMANCE_ADMIN_TOKEN },
    log: () => {},
  });
  return {
    invoke: async (request) => {
      const response = await fetch(`${server.url}${request.path}`, { method: request.method, headers: request.headers, ...(request.body !== undefined ? { body: request.body } : {}) });
      return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.json() };
    },
    close: () => server.close(),
  };
});
