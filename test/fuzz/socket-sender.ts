// Sends fuzz cases to a server over real sockets with node:http (keep-alive, bounded
// sockets), so the node adapter's own parsing and streaming are exercised, not only the core.
import { Agent, request as httpRequest } from 'node:http';
import { judgeResponse, type FuzzSender } from './bad-requests.ts';

/** A sender to `baseUrl` (http://127.0.0.1:port); `close()` frees its sockets. */
export function socketSender(baseUrl: string, options: { sockets?: number; timeoutMs?: number } = {}): { send: FuzzSender; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: options.sockets ?? 8 });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const send: FuzzSender = (fuzzCase) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of fuzzCase.headers) headers[name] = value;
      if (fuzzCase.chunkBytes) headers['transfer-encoding'] = 'chunked';
      else if (fuzzCase.body) headers['content-length'] = String(fuzzCase.declaredLength ?? fuzzCase.body.byteLength);
      const req = httpRequest(`${baseUrl}${fuzzCase.path}`, { method: fuzzCase.method, headers, agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve(judgeResponse(fuzzCase, res.statusCode ?? 0, res.headers['content-type'] ?? null, Buffer.concat(chunks).toString('utf8'))));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      // The server may answer 413 and close before the whole upload is written: that is an
      // answer, not a failure, so write errors after a response are ignored.
      let answered = false;
      req.on('response', () => (answered = true));
      req.on('error', (error) => {
        if (!answered) reject(error);
      });
      const body = fuzzCase.body;
      if (body && fuzzCase.chunkBytes) {
        for (let offset = 0; offset < body.byteLength; offset += fuzzCase.chunkBytes) req.write(body.subarray(offset, offset + fuzzCase.chunkBytes));
        req.end();
      } else {
        req.end(body ?? undefined);
      }
    });
  return { send, close: () => agent.destroy() };
}
