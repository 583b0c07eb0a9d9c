/**
 * Reads a webhook body as raw bytes, bounded on the wire and after decompression.
 *
 * The signature covers the exact bytes Acme serialized, so the body is never parsed
 * before it is verified. Rules:
 * - `Content-Length` above the limit is refused before a byte is read (413).
 * - The bytes received on the wire are counted as they stream; above the limit → 413
 *   (covers chunked bodies and lying Content-Length headers).
 * - `Content-Encoding: gzip | deflate | br` is decoded as it streams and the decoded
 *   bytes are counted too; a compression bomb is stopped at limit + one zlib chunk,
 *   never inflated into memory. Any other coding → 415 (RFC 9110 §15.5.16).
 * - Signature rule: Standard Webhooks signs the payload (`id.timestamp.body`), and the
 *   contract's body is the JSON event; Content-Encoding is a transfer detail of HTTP.
 *   So the signature is verified over the DECODED bytes.
 *
 * On refusal the request stream is left alone (never destroyed): Node discards the
 * rest after the response, so the client reads a 413 instead of a reset connection.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ERROR_CODES, PermanentError, ValidationError } from '../../errors/index.js';

export const CONTENT_CODINGS = ['identity', 'gzip', 'x-gzip', 'deflate', 'br'] as const;

export function payloadTooLarge(what: string, maxBytes: number): PermanentError {
  return new PermanentError(`${what} exceeds ${maxBytes} bytes`, { code: ERROR_CODES.PAYLOAD_TOO_LARGE, stage: 'webhook', context: { maxBytes } });
}

function unsupportedCoding(coding: string): PermanentError {
  return new PermanentError(`Content-Encoding "${coding}" is not supported (use gzip, deflate or br)`, { code: ERROR_CODES.UNSUPPORTED_MEDIA_TYPE, stage: 'webhook', context: { coding } });
}

/** The decoder for a Content-Encoding header, or null for identity. */
export function createDecoder(header: string | undefined): Transform | null {
  const coding = (header ?? 'identity').trim().toLowerCase() || 'identity';
  switch (coding) {
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      throw unsupportedCoding(coding);
  }
}

export interface BodyLimits {
  /** Largest body, counted on the wire and again after decoding. */
  maxBytes: number;
}

export function readBody(stream: Readable, headers: IncomingHttpHeaders, limits: BodyLimits): Promise<Buffer> {
  const { maxBytes } = limits;
  const declared = headers['content-length'] === undefined ? NaN : Number(headers['content-length']);
  if (declared > maxBytes) return Promise.reject(payloadTooLarge('Content-Length', maxBytes));
  let decoder: Transform | null;
  try {
    decoder = createDecoder(headers['content-encoding']);
  } catch (err) {
    return Promise.reject(err);
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wireBytes = 0;
    let decodedBytes = 0;
    let settled = false;

    const detach = (): void => {
      stream.off('data', onWire);
      stream.off('end', onWireEnd);
      stream.off('error', onWireError);
      // Paused for the decoder's backpressure: let the rest flow (and be discarded), or the
      // connection would stall after our answer.
      if (stream.isPaused()) stream.resume();
      if (decoder) {
        decoder.off('data', onDecoded);
        decoder.off('end', onDecodedEnd);
        decoder.off('error', onDecodeError);
        decoder.on('error', () => undefined);
        decoder.destroy();
      }
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      detach();
      reject(err);
    };
    const succeed = (): void => {
      if (settled) return;
      settled = true;
      detach();
      resolve(Buffer.concat(chunks, decodedBytes));
    };

    function onDecoded(chunk: Buffer): void {
      decodedBytes += chunk.length;
      if (decodedBytes > maxBytes) return fail(payloadTooLarge(decoder ? 'Decompressed body' : 'Body', maxBytes));
      chunks.push(chunk);
    }
    function onDecodedEnd(): void {
      succeed();
    }
    function onDecodeError(err: Error): void {
      fail(new ValidationError(`Body is not valid ${headers['content-encoding']} data: ${err.message}`, { stage: 'webhook' }));
    }
    function onWire(chunk: Buffer | string): void {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      wireBytes += buf.length;
      if (wireBytes > maxBytes) return fail(payloadTooLarge('Body', maxBytes));
      if (!decoder) return onDecoded(buf);
      // Backpressure: the decoder's output is consumed (and counted) as it comes.
      if (!decoder.write(buf)) {
        stream.pause();
        decoder.once('drain', () => !settled && stream.resume());
      }
    }
    function onWireEnd(): void {
      if (!Number.isNaN(declared) && wireBytes !== declared) return fail(new ValidationError('Content-Length does not match the body', { stage: 'webhook' }));
      if (decoder) decoder.end();
      else succeed();
    }
    function onWireError(err: Error): void {
      fail(new ValidationError(`Body could not be read: ${err.message}`, { stage: 'webhook' }));
    }

    if (decoder) {
      decoder.on('data', onDecoded);
      decoder.on('end', onDecodedEnd);
      decoder.on('error', onDecodeError);
    }
    stream.on('data', onWire);
    stream.on('end', onWireEnd);
    stream.on('error', onWireError);
    stream.resume();
  });
}
