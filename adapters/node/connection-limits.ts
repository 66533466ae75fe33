// Socket-level limits of the node server, sized for an API whose requests are at most 64 KB
// and answered in milliseconds. Without them one host held 20,500 idle sockets (the whole
// file-descriptor budget) and a slow body held a socket for Node's default 300 s.
//   headers within headersTimeoutMs of the request's first byte, no socket silent for longer
//   than headersTimeoutMs (one that connects and never sends anything), the whole
//   request within requestTimeoutMs, idle keep-alive sockets closed after keepAliveTimeoutMs;
//   at most maxConnectionsPerPeer sockets per client address (a new one past it is closed at
//   once) and maxConnections in total (node:http drops the ones past it).
// Env: EDGEINFER_HEADERS_TIMEOUT_MS, EDGEINFER_REQUEST_TIMEOUT_MS, EDGEINFER_KEEPALIVE_TIMEOUT_MS,
// EDGEINFER_MAX_CONNECTIONS, EDGEINFER_MAX_CONNECTIONS_PER_PEER. Bad values fail at startup.
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';

/** The server's socket limits. */
export interface ConnectionLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerPeer: number;
}

/**
 * Defaults: a 64 KB body arrives in well under a second even on a slow mobile link; 128 sockets
 * per address leaves room for a NAT of browsers and for the load benches (64 connections).
 */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 4_096,
  maxConnectionsPerPeer: 128,
};

const ENV: Record<keyof ConnectionLimits, string> = {
  headersTimeoutMs: 'EDGEINFER_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'EDGEINFER_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'EDGEINFER_KEEPALIVE_TIMEOUT_MS',
  maxConnections: 'EDGEINFER_MAX_CONNECTIONS',
  maxConnectionsPerPeer: 'EDGEINFER_MAX_CONNECTIONS_PER_PEER',
};

/** Reads the EDGEINFER_* socket limits over the defaults; throws naming a bad variable. */
export function connectionLimitsFromEnv(env: Readonly<Record<string, string | undefined>>): ConnectionLimits {
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS };
  for (const key of Object.keys(ENV) as Array<keyof ConnectionLimits>) {
    const raw = env[ENV[key]];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${ENV[key]} must be a positive integer, got "${raw}"`);
    limits[key] = value;
  }
  return checked(limits);
}

function checked(limits: ConnectionLimits): ConnectionLimits {
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new Error(`EDGEINFER_HEADERS_TIMEOUT_MS (${limits.headersTimeoutMs}) must not exceed EDGEINFER_REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs})`);
  return limits;
}

/** node:http options for these limits (the timeouts must be set when the server is created). */
export function serverOptions(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Expired sockets are found by a periodic sweep (Node's default: every 30 s): sweep often
    // enough that a timeout of a few seconds means a few seconds.
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** Counts of sockets refused by the caps (for tests and logs). */
export interface ConnectionStats {
  refusedPerPeer: number;
  refusedTotal: number;
  /** Distinct client addresses with a socket open now. */
  peers: number;
}

/** Enforces the connection caps on a server; returns live counters. */
export function enforceConnectionCaps(server: Server, limits: ConnectionLimits): () => ConnectionStats {
  server.maxConnections = limits.maxConnections;
  // Counts by address; an entry lives only while that address has a socket open, so the map
  // is bounded by the total cap.
  const open = new Map<string, number>();
  let refusedPerPeer = 0;
  let refusedTotal = 0;
  server.on('drop', () => {
    refusedTotal++;
  });
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress ?? '';
    const count = open.get(peer) ?? 0;
    if (count >= limits.maxConnectionsPerPeer) {
      refusedPerPeer++;
      socket.destroy();
      return;
    }
    // Node's headersTimeout starts with the first byte of a request: a socket that never sends
    // one escapes it. An inactivity timeout of the same length closes those (node:http destroys a
    // socket whose 'timeout' nobody handles); live requests write or read long before it.
    socket.setTimeout(limits.headersTimeoutMs);
    open.set(peer, count + 1);
    socket.once('close', () => {
      const left = (open.get(peer) ?? 1) - 1;
      if (left <= 0) open.delete(peer);
      else open.set(peer, left);
    });
  });
  return () => ({ refusedPerPeer, refusedTotal, peers: open.size });
}
