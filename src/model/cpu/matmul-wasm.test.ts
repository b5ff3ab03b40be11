import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { NATIVE_KERNELS_PATH } from './matmul-native.ts';

/**
 * Where the native kernels are built, the engine's own tests run on them; these run the kernel
 * suites again on the WebAssembly kernels (what a machine without a C compiler runs).
 */
const suites = ['matmul.test.ts', 'matmul-quant.test.ts', 'matmul-int8.test.ts', 'lora-rows.test.ts', 'cpu-backend-quant.test.ts', 'flash-attention.test.ts'];

describe('the WebAssembly kernels', { skip: existsSync(NATIVE_KERNELS_PATH) ? false : 'the native kernels are not built, so the kernel suites already run on WebAssembly' }, () => {
  it('pass the kernel suites with OPENLEDGER_KERNELS=wasm', () => {
    const files = suites.map((f) => fileURLToPath(new URL(f, import.meta.url)));
    const { NODE_TEST_CONTEXT: _, ...env } = process.env; // the child runs its own test runner
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...files], {
      encoding: 'utf8', env: { ...env, OPENLEDGER_KERNELS: 'wasm' }, timeout: 600_000,
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const passed = Number(/^# pass (\d+)$/m.exec(run.stdout)?.[1]);
    assert.ok(passed >= 30, `only ${passed} tests ran:\n${run.stdout}`);
  });
});
