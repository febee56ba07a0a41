// Bounded request bodies. Fastify's bodyLimit covers only the bodies it reads itself (JSON, buffers);
// routes that stream their body (imports, batch CSV, feeds, interface files) count its bytes here as
// they arrive and stop at the limit: nothing more is read, the 413 leaves at once, and the connection
// is closed rather than drained.

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OnshiError } from './errors.ts';

function isRequest(source: unknown): source is IncomingMessage {
  return source instanceof Readable && 'httpVersion' in source && 'socket' in source;
}

/**
 * The chunks of `source` while their total stays within `limitBytes`; the chunk that passes it throws
 * ONSHI_BODY_TOO_LARGE instead, and the source is read no further. A request stream is only paused:
 * destroying it would destroy its socket and the 413 with it (the answer closes the connection, see
 * closeIfBodyUnread). Any other stream is destroyed.
 */
export async function* limitBytes(source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, limitBytes: number): AsyncGenerator<Buffer> {
  // A stream's own iterator would destroy it when the reader stops early (a refused row, a full batch).
  const request = isRequest(source);
  const chunks = request ? source.iterator({ destroyOnReturn: false }) : source;
  let total = 0;
  try {
    for await (const chunk of chunks) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      total += buf.length;
      if (total > limitBytes) {
        if (!request && source instanceof Readable) source.destroy();
        throw new OnshiError('ONSHI_BODY_TOO_LARGE', { limitBytes });
      }
      yield buf;
    }
  } finally {
    // Whoever stopped reading (this limit, a row limit, a refused file), the rest stays unread.
    if (request && !source.readableEnded) source.pause();
  }
}

/**
 * The body of a route whose content-type parser hands over the raw stream, limited to `limit` bytes.
 * A declared Content-Length over the limit is refused before a byte is read; no body is no chunks.
 */
export function requestBody(request: FastifyRequest, limit: number): AsyncGenerator<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (declared > limit) throw new OnshiError('ONSHI_BODY_TOO_LARGE', { limitBytes: limit });
  const body = request.body;
  if (body instanceof Readable) return limitBytes(body, limit);
  if (Buffer.isBuffer(body)) return limitBytes([body], limit);
  return limitBytes([], limit);
}

/** Reads a limited body whole (for routes that need all of it at once; at most `limit` bytes are held). */
export async function readBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of requestBody(request, limit)) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/**
 * How long a connection answered before its body was read stays half-open: the server has sent its
 * answer and its FIN, reads nothing more, and lets the socket go when this has passed.
 */
export const LINGER_MS = 2000;

const lingering = new WeakSet<Socket>();

/**
 * An answer given before the whole body has arrived (a limit passed, a refused row, no credential)
 * closes the connection, so that the rest is neither read nor drained (Node would otherwise read it
 * all to keep the connection alive). Closing at once would reset a connection the client is still
 * writing to, and a reset can discard the answer before the client reads it (RFC 9112 §9.6): so
 * only the sending side is closed at first, and the socket destroyed LINGER_MS later.
 */
function closeUnread(request: FastifyRequest, reply: FastifyReply): void {
  // Only a request off a socket has a body still on the way (an injected one has no `complete`).
  if (request.raw.complete !== false) return;
  reply.header('connection', 'close');
  const socket = request.raw.socket as (Socket & { destroySoon?: () => void }) | null;
  if (!socket || lingering.has(socket)) return;
  lingering.add(socket);
  // Node's server calls destroySoon once an answer with `connection: close` is written.
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}

/** onSend hook of the routes that stream their body (see closeUnread). */
export async function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  closeUnread(request, reply);
  return payload;
}

/** onError hook for every route: a body Fastify reads itself and refuses (over its limit) is closed the same way. */
export async function closeIfBodyUnreadOnError(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  closeUnread(request, reply);
}

/** A content-type parser that hands the body over unread, for routes that stream it through requestBody. */
export function passThrough(_request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void): void {
  done(null, payload);
}
