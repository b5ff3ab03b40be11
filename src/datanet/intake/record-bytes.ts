/** Checks on one record's raw bytes, shared by the line-based formats. */

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Whether `bytes` look binary: a NUL byte, or more than `threshold` of the bytes are control
 * characters (C0 other than tab, LF, VT, FF and CR; and DEL).
 *
 * @example
 * looksBinary(new Uint8Array([0x61, 0x00, 0x62]), 0.05) // true
 */
export function looksBinary(bytes: Uint8Array, threshold: number): boolean {
  if (bytes.indexOf(0) !== -1) return true;
  const allowed = threshold * bytes.length;
  let control = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x20 ? b < 0x09 || b > 0x0d : b === 0x7f) {
      if (++control > allowed) return true;
    }
  }
  return false;
}

/**
 * The UTF-8 text of `bytes`, or undefined if they are not valid UTF-8. Each call decodes on its
 * own, so one bad record does not affect the next. A leading byte order mark is dropped.
 *
 * @example
 * decodeUtf8(new Uint8Array([0xc3, 0xa9])) // 'é'
 * decodeUtf8(new Uint8Array([0xff]))       // undefined
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
