/**
 * Splits a byte stream into records without holding more than one record (at most
 * `maxRecordBytes` + 1 bytes) at a time: where a record ends is the `Boundary`'s business (a line
 * feed for JSONL and text, a line feed outside quotes for CSV). A UTF-8 byte order mark at the
 * start of the stream is dropped, and so is the CR of a CRLF line ending. A record over the limit
 * is not kept: its bytes are counted and skipped up to its end, and it is reported as `too_long`.
 */

const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf] as const;

/** Where records end. */
export interface Boundary {
  /** Index in `chunk`, at or after `from`, of the line feed that ends the current record, or -1 if it goes on past the chunk. */
  next(chunk: Uint8Array, from: number): number;
  /** A new record starts. */
  reset(): void;
  /** Line feeds inside the current record so far (in CSV quoted fields), for line numbers. */
  readonly innerNewlines: number;
}

/** One record's bytes (without its line ending), or a record that was over the limit. */
export type Piece =
  | { kind: 'record'; bytes: Uint8Array; line: number }
  | { kind: 'too_long'; size: number; line: number };

/**
 * The boundary of line-based formats: each line feed ends a record.
 *
 * @example
 * const splitter = new RecordSplitter(lineBoundary(), 1 << 20);
 */
export function lineBoundary(): Boundary {
  return { next: (chunk, from) => chunk.indexOf(LF, from), reset() {}, innerNewlines: 0 };
}

/**
 * Cuts chunks into records; feed it with `push` and finish with `end`.
 *
 * @example
 * const splitter = new RecordSplitter(lineBoundary(), 1024);
 * const pieces = [...splitter.push(bytes('a\nb')), ...splitter.end()]; // records 'a' (line 1), 'b' (line 2)
 */
export class RecordSplitter {
  readonly #boundary: Boundary;
  readonly #max: number;
  #head: Uint8Array | undefined = new Uint8Array(0); // the first bytes, until we know whether they are a BOM
  #parts: Uint8Array[] = [];
  #size = 0; // bytes of the current record so far (held in #parts unless skipping)
  #skipping = false;
  #lastByte: number | undefined; // of the current record so far
  #line = 1;

  constructor(boundary: Boundary, maxRecordBytes: number) {
    this.#boundary = boundary;
    this.#max = maxRecordBytes;
  }

  /** The records completed by `chunk`. The chunk must not change afterwards (records may be views of it). */
  push(chunk: Uint8Array): Piece[] {
    const out: Piece[] = [];
    if (this.#head !== undefined) {
      const head = concat([this.#head, chunk], this.#head.length + chunk.length);
      if (head.length < BOM.length && BOM.slice(0, head.length).every((b, i) => head[i] === b)) {
        this.#head = head;
        return out;
      }
      this.#head = undefined;
      chunk = head[0] === BOM[0] && head[1] === BOM[1] && head[2] === BOM[2] ? head.subarray(BOM.length) : head;
    }
    let pos = 0;
    while (pos < chunk.length) {
      const end = this.#boundary.next(chunk, pos);
      if (end === -1) {
        this.#hold(chunk.subarray(pos));
        break;
      }
      this.#finish(chunk.subarray(pos, end), out);
      pos = end + 1;
    }
    return out;
  }

  /** The last record, if the stream does not end with a line feed. */
  end(): Piece[] {
    const out: Piece[] = [];
    if (this.#head !== undefined) {
      const head = this.#head;
      this.#head = undefined;
      out.push(...this.push(head));
    }
    if (this.#size > 0 || this.#skipping) this.#finish(new Uint8Array(0), out);
    return out;
  }

  #hold(bytes: Uint8Array): void {
    this.#size += bytes.length;
    this.#lastByte = bytes[bytes.length - 1];
    if (this.#skipping) return;
    if (this.#size > this.#max + 1) {
      // over the limit even if the record ends with CR LF: stop holding it
      this.#skipping = true;
      this.#parts = [];
    } else {
      this.#parts.push(bytes);
    }
  }

  #finish(last: Uint8Array, out: Piece[]): void {
    const line = this.#line;
    this.#line += 1 + this.#boundary.innerNewlines;
    this.#boundary.reset();
    const lastByte = last.length > 0 ? last[last.length - 1] : this.#lastByte;
    const size = this.#size + last.length - (lastByte === CR ? 1 : 0);
    const skipping = this.#skipping;
    const parts = this.#parts;
    this.#size = 0;
    this.#skipping = false;
    this.#parts = [];
    this.#lastByte = undefined;
    if (skipping || size > this.#max) {
      out.push({ kind: 'too_long', size, line });
      return;
    }
    const bytes = parts.length === 0 ? last.subarray(0, size) : concat([...parts, last], size);
    out.push({ kind: 'record', bytes, line });
  }
}

/** The first `size` bytes of `parts` joined. */
function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length === size) return parts[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    const n = Math.min(p.length, size - at);
    out.set(n === p.length ? p : p.subarray(0, n), at);
    at += n;
    if (at === size) break;
  }
  return out;
}
