import { PassThrough, Readable } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors/index.js';
import { readBody } from '../../../src/producers/webhooks/body.js';

const JSON_BODY = Buffer.from(JSON.stringify({ id: 'evt_1', type: 'contact.updated', note: 'ünïcödé' }));

function streamOf(...chunks: Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

describe('reading a webhook body', () => {
  it('returns the exact bytes of a plain body', async () => {
    const body = await readBody(streamOf(JSON_BODY.subarray(0, 7), JSON_BODY.subarray(7)), { 'content-length': String(JSON_BODY.length) }, { maxBytes: 1024 });
    expect(body.equals(JSON_BODY)).toBe(true);
  });

  it.each([
    ['gzip', gzipSync(JSON_BODY)],
    ['deflate', deflateSync(JSON_BODY)],
    ['br', brotliCompressSync(JSON_BODY)],
  ])('decodes a %s body to the bytes that were compressed', async (coding, compressed) => {
    const body = await readBody(streamOf(compressed), { 'content-encoding': coding, 'content-length': String(compressed.length) }, { maxBytes: 1024 });
    expect(body.equals(JSON_BODY)).toBe(true);
  });

  it('refuses a declared Content-Length above the limit without reading the stream', async () => {
    const neverEnding = new PassThrough();
    await expect(readBody(neverEnding, { 'content-length': '2048' }, { maxBytes: 1024 })).rejects.toMatchObject({ code: ERROR_CODES.PAYLOAD_TOO_LARGE });
    expect(neverEnding.readableFlowing).toBe(null);
  });

  it('refuses a streamed body without Content-Length once it passes the limit, while it is still streaming', async () => {
    const stream = new PassThrough();
    const result = readBody(stream, {}, { maxBytes: 1024 });
    stream.write(Buffer.alloc(600));
    stream.write(Buffer.alloc(600)); // never ended: the refusal cannot wait for the end
    await expect(result).rejects.toMatchObject({ code: ERROR_CODES.PAYLOAD_TOO_LARGE });
  });

  it('stops a gzip bomb at the decompressed limit without waiting for (or inflating) the rest', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KiB
    expect(bomb.length).toBeLessThan(256 * 1024);
    const stream = new PassThrough();
    const result = readBody(stream, { 'content-encoding': 'gzip' }, { maxBytes: 256 * 1024 });
    // Only the first eighth of the bomb is sent and the stream stays open: a reader that
    // inflated everything before checking could not answer at all.
    stream.write(bomb.subarray(0, Math.ceil(bomb.length / 8)));
    await expect(result).rejects.toMatchObject({ code: ERROR_CODES.PAYLOAD_TOO_LARGE, message: expect.stringContaining('Decompressed') });
  });

  it('refuses a content coding it does not know as unsupported media', async () => {
    await expect(readBody(streamOf(JSON_BODY), { 'content-encoding': 'zstd' }, { maxBytes: 1024 })).rejects.toMatchObject({ code: ERROR_CODES.UNSUPPORTED_MEDIA_TYPE });
  });

  it('refuses a body that is not the gzip data it claims to be', async () => {
    await expect(readBody(streamOf(JSON_BODY), { 'content-encoding': 'gzip' }, { maxBytes: 1024 })).rejects.toMatchObject({ code: ERROR_CODES.VALIDATION_FAILED });
  });

  it('refuses a body shorter than its Content-Length', async () => {
    await expect(readBody(streamOf(JSON_BODY), { 'content-length': String(JSON_BODY.length + 5) }, { maxBytes: 1024 })).rejects.toMatchObject({ code: ERROR_CODES.VALIDATION_FAILED });
  });
});
