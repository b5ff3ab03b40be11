import type { TensorMap } from '../model/tensor-map.ts';

/** An improvement smaller than this share of the best loss does not count. */
const MIN_IMPROVEMENT = 0.005;

/**
 * Early stopping on the held-out loss, observed at every epoch end: the best epoch's parameters
 * are kept, and training stops once `patience` epochs in a row have not improved on it by 0.5 %.
 * Its state goes into the job's checkpoint, so a run resumed after a crash decides exactly as an
 * uninterrupted one.
 *
 * @example
 * const stopping = new EarlyStopping(3);
 * await stopping.observe(epoch, heldOutLoss, () => readParameters());
 * if (stopping.stopped) …; // then write stopping.best.weights back
 */
export class EarlyStopping {
  readonly patience: number;
  best: { epoch: number; loss: number; weights: Map<string, Float32Array> } | null = null;
  /** The held-out loss of the last epoch observed. */
  last = Number.NaN;
  epochsSeen = 0;
  stopped = false;
  private stale = 0;

  /** `patience` 0 disables it (nothing is observed or kept). */
  constructor(patience: number) {
    this.patience = patience;
  }

  get enabled(): boolean {
    return this.patience > 0;
  }

  /** Records epoch `epoch`'s held-out loss; `weights` is called only when it is the best so far. */
  async observe(epoch: number, loss: number, weights: () => Promise<Map<string, Float32Array>>): Promise<void> {
    if (!this.enabled) return;
    // kept at float32 precision, as the checkpoint stores it: a resumed run compares the same numbers
    loss = Math.fround(loss);
    this.epochsSeen = epoch + 1;
    this.last = loss;
    if (!this.best || loss < this.best.loss * (1 - MIN_IMPROVEMENT)) {
      this.best = { epoch, loss, weights: await weights() };
      this.stale = 0;
    } else if (++this.stale >= this.patience) {
      this.stopped = true;
    }
  }

  /** Adds this state to a checkpoint. */
  save(state: TensorMap): void {
    if (!this.best) return;
    state.set('early_stopping.state', { shape: [6], data: Float32Array.of(this.best.epoch, this.best.loss, this.last, this.epochsSeen, this.stale, this.stopped ? 1 : 0) });
    for (const [name, data] of this.best.weights) state.set(`early_stopping.best.${name}`, { shape: [data.length], data });
  }

  /** Restores the state a checkpoint holds (none: a fresh start). */
  load(state: TensorMap): void {
    const s = state.get('early_stopping.state')?.data;
    if (!s) return;
    const weights = new Map<string, Float32Array>();
    for (const [name, t] of state) if (name.startsWith('early_stopping.best.')) weights.set(name.slice('early_stopping.best.'.length), t.data);
    this.best = { epoch: s[0]!, loss: s[1]!, weights };
    [this.last, this.epochsSeen, this.stale] = [s[2]!, s[3]!, s[4]!];
    this.stopped = s[5] === 1;
  }
}
