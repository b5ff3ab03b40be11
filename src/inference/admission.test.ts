import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAdmission, QueueFullError } from './admission.ts';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('createAdmission', () => {
  it('runs up to the concurrency, queues up to the bound in order, refuses beyond with a retry hint', async () => {
    const a = createAdmission({ concurrency: 2, queue: 2, retryAfterSeconds: 3 });
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const order: number[] = [];
    const runs = gates.map((g, i) => a.run(async () => {
      order.push(i);
      await g.promise;
      return i;
    }));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([a.running, a.waiting], [2, 2]);
    await assert.rejects(a.run(async () => 5), (e: unknown) => e instanceof QueueFullError && e.retryAfterSeconds === 3);
    gates[1]!.resolve();
    gates[0]!.resolve();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [0, 1, 2, 3]);
    gates[2]!.resolve();
    gates[3]!.resolve();
    assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3]);
    assert.deepEqual([a.running, a.waiting], [0, 0]);
  });

  it('a waiting request whose client goes away leaves the queue; a failing one frees its slot', async () => {
    const a = createAdmission({ concurrency: 1, queue: 4 });
    const gate = deferred();
    const first = a.run(() => gate.promise);
    const controller = new AbortController();
    const gone = a.run(async () => 'never', controller.signal);
    const after = a.run(async () => 'ran');
    controller.abort();
    await assert.rejects(gone, { code: 'cancelled' });
    assert.equal(a.waiting, 1);
    gate.resolve();
    await first;
    assert.equal(await after, 'ran');
    await assert.rejects(a.run(async () => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(await a.run(async () => 'still fine'), 'still fine');
  });
});
