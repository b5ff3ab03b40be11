import type { Boundary } from './record-splitter.ts';

const LF = 0x0a;
const QUOTE = 0x22;

/**
 * The boundary of CSV records (RFC 4180): a line feed ends a record unless it is inside a quoted
 * field. A quote opens a quoted field only at the start of a field; inside one, `""` is a quote and
 * a lone `"` closes it. Malformed quoting (a stray quote inside a field, text after a closing quote)
 * is left for the CSV parser to report; a quoted field that never closes runs on until the record
 * is over the size limit, which bounds what is held.
 *
 * @example
 * const splitter = new RecordSplitter(csvBoundary(','), 1 << 20);
 */
export function csvBoundary(delimiter: string): Boundary {
  const delim = delimiterByte(delimiter);
  let quoting = false;
  let quoteSeen = false; // inside a quoted field, the last byte was a quote
  let fieldStart = true; // outside quotes, the next byte starts a field
  let innerNewlines = 0;
  // The next quote and line feed at or after a position of the chunk last searched, so that each
  // byte is searched (natively, by indexOf) at most once per kind whatever the rows look like.
  const quotes = nextOf(QUOTE);
  const newlines = nextOf(LF);
  return {
    next(chunk, from) {
      if (from === 0) {
        quotes.forget(); // a new chunk (perhaps a reused buffer)
        newlines.forget();
      }
      let i = from;
      while (i < chunk.length) {
        if (quoting) {
          if (quoteSeen) {
            quoteSeen = false;
            if (chunk[i] === QUOTE) {
              i++; // "" inside a quoted field
              continue;
            }
            quoting = false; // the quote closed the field: read on outside quotes
            fieldStart = false;
            continue;
          }
          const q = quotes(chunk, i);
          const stop = q === -1 ? chunk.length : q;
          for (let lf = newlines(chunk, i); lf !== -1 && lf < stop; lf = newlines(chunk, lf + 1)) innerNewlines++;
          if (q === -1) return -1;
          quoteSeen = true;
          i = q + 1;
          continue;
        }
        const lf = newlines(chunk, i);
        const q = lf === -1 ? quotes(chunk, i) : quotes(chunk, i, lf);
        if (q === -1) {
          if (lf !== -1) return lf;
          fieldStart = chunk[chunk.length - 1] === delim;
          return -1;
        }
        // a quote before the end of the row: it opens a quoted field only at the start of a field
        quoting = q === i ? fieldStart : chunk[q - 1] === delim;
        fieldStart = false;
        i = q + 1;
      }
      return -1;
    },
    reset() {
      quoting = false;
      quoteSeen = false;
      fieldStart = true;
      innerNewlines = 0;
    },
    get innerNewlines() {
      return innerNewlines;
    },
  };
}

/**
 * A search for `byte` that remembers its last answer: `find(chunk, i, before?)` is the index of
 * the first `byte` at or after `i` in `chunk` (-1 if none, or if none before `before`).
 */
function nextOf(byte: number): ((chunk: Uint8Array, i: number, before?: number) => number) & { forget(): void } {
  let last: Uint8Array | undefined;
  let searchedFrom = 0;
  let found = -1;
  const find = (chunk: Uint8Array, i: number, before = chunk.length) => {
    if (chunk !== last || i < searchedFrom || (found !== -1 && found < i)) {
      last = chunk;
      searchedFrom = i;
      found = chunk.indexOf(byte, i);
    }
    return found !== -1 && found < before ? found : -1;
  };
  return Object.assign(find, { forget: () => void (last = undefined) });
}

/**
 * The byte of a one-byte ASCII delimiter other than a quote or a line ending.
 *
 * @example
 * delimiterByte('\t') // 9
 */
export function delimiterByte(delimiter: string): number {
  const code = delimiter.length === 1 ? delimiter.charCodeAt(0) : -1;
  if (code < 0x01 || code > 0x7e || code === QUOTE || code === LF || code === 0x0d) throw new RangeError(`the CSV delimiter must be one ASCII character other than a quote or a line ending, got ${JSON.stringify(delimiter)}`);
  return code;
}
