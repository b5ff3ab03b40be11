/** The longest suffix of `text` that is a proper prefix of one of `stops`. */
function pendingStopPrefix(text: string, stops: readonly string[]): number {
  let keep = 0;
  for (const s of stops) for (let k = Math.min(s.length - 1, text.length); k > keep; k--) if (text.endsWith(s.slice(0, k))) keep = k;
  return keep;
}

/**
 * Turns a growing generated text into the pieces a client may see: output ends before the first
 * stop string, and a tail that could still become a stop string (or is half a character) is held
 * back until it cannot. Every engine streams through one of these, so stop strings behave the
 * same whichever engine ran.
 *
 * @example
 * const stream = new TextStream(['\n'], (d) => process.stdout.write(d));
 * stream.update('Hello'); // emits "Hello"; returns false
 * stream.update('Hello\nmore'); // returns true: stopped; stream.text === 'Hello'
 */
export class TextStream {
  private readonly stops: readonly string[];
  private readonly emit: (delta: string) => void;
  private full = '';
  private emitted = 0;
  private stoppedAt = -1;

  constructor(stops: readonly string[], emit: (delta: string) => void = () => {}) {
    this.stops = stops.filter((s) => s.length > 0);
    this.emit = emit;
  }

  /** Whether a stop string has appeared. */
  get stopped(): boolean {
    return this.stoppedAt >= 0;
  }

  /** The output: everything before the first stop string. */
  get text(): string {
    return this.stoppedAt >= 0 ? this.full.slice(0, this.stoppedAt) : this.full;
  }

  /** Takes the whole text generated so far; emits what is safe to show; true once a stop string appeared. */
  update(full: string): boolean {
    if (this.stopped) return true;
    this.full = full;
    for (const s of this.stops) {
      const at = full.indexOf(s);
      if (at >= 0 && (this.stoppedAt < 0 || at < this.stoppedAt)) this.stoppedAt = at;
    }
    if (this.stopped) return true;
    let ready = full.length - pendingStopPrefix(full, this.stops);
    while (ready > this.emitted && full.charCodeAt(ready - 1) === 0xfffd) ready--;
    if (ready > this.emitted) {
      this.emit(full.slice(this.emitted, ready));
      this.emitted = ready;
    }
    return false;
  }

  /** Emits what was held back (the generation ended); returns the output. */
  end(): string {
    const out = this.text;
    if (out.length > this.emitted) this.emit(out.slice(this.emitted));
    this.emitted = out.length;
    return out;
  }
}
