import { IntakeError } from './errors.ts';
import type { ByteSource } from './types.ts';

const encoder = new TextEncoder();

/**
 * The chunks of `source` as bytes (strings are UTF-8 encoded; empty chunks are dropped).
 *
 * @example
 * for await (const chunk of bytesOf(createReadStream('data.jsonl'))) console.log(chunk.length);
 */
export async function* bytesOf(source: ByteSource): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    // a plain Uint8Array view of a Buffer: its subarrays are cheaper to make
    const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk.constructor !== Uint8Array ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : chunk; // a Buffer as a plain view
    if (bytes.length > 0) yield bytes;
  }
}

/** Counts the bytes passed through `limitBytes`. */
export interface ByteCounter {
  bytes: number;
}

/**
 * Passes on the first `maxBytes` bytes of `source`, then, if there are more, stops reading (the
 * source's iterator is returned, which destroys a Readable) and throws `IntakeError('file_too_large')`.
 * The chunk that crosses the limit is cut at the limit, so what comes through does not depend on
 * how the bytes were chunked. `counter.bytes` counts what was passed on.
 *
 * @example
 * const counter = { bytes: 0 };
 * for await (const chunk of limitBytes(stream, 10 * 1024 * 1024, counter)) consume(chunk);
 */
export async function* limitBytes(source: ByteSource, maxBytes: number, counter: ByteCounter = { bytes: 0 }): AsyncGenerator<Uint8Array> {
  for await (const chunk of bytesOf(source)) {
    const room = maxBytes - counter.bytes;
    if (chunk.length > room) {
      if (room > 0) {
        counter.bytes += room;
        yield chunk.subarray(0, room);
      }
      throw new IntakeError('file_too_large', `the upload is larger than ${maxBytes} bytes; reading stopped there`);
    }
    counter.bytes += chunk.length;
    yield chunk;
  }
}
