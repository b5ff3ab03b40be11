import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAllowedHost } from './allowed-host.ts';

describe('isAllowedHost', () => {
  it('answers IP literals and listed names, never an unlisted name (DNS rebinding)', () => {
    const allowed = ['localhost', 'node.example.org'];
    for (const h of ['127.0.0.1', '127.0.0.1:8080', '[::1]:8545', '::1', '10.0.0.7:80', 'LOCALHOST:8080', 'node.example.org']) assert.equal(isAllowedHost(h, allowed), true, h);
    for (const h of ['evil.example', 'evil.example:8080', 'localhost.evil.example', 'node.example.org.evil.example', '', undefined]) assert.equal(isAllowedHost(h, allowed), false, String(h));
    assert.equal(isAllowedHost('anything.example', ['*']), true);
  });
});
