import { bytesToHex, hexToBytes, isHex, type Hex } from 'viem';
import type { DaBackend } from './backend.ts';
import { decodeCommitment, keccakCommitment, verifyKeccakCommitment } from './commitment.ts';
import { DaCommitmentMismatchError, DaNotFoundError, DaServerError } from './errors.ts';

/** Options of {@link altDaHttpBackend}. */
export interface AltDaHttpOptions {
  /**
   * Compute the keccak commitment here and `POST /put/0x<commitment>` (OP's da-server in keccak
   * mode, content-addressed stores); default true. False: `POST /put` and take the commitment the
   * server answers (EigenDA's proxy, whose commitment is a certificate only it can make).
   */
  precompute?: boolean;
  /** Query string added to every request, e.g. `commitment_mode=optimism_generic` for EigenDA's proxy. */
  query?: string;
  /** Per-request timeout in ms (default 30 000). */
  timeoutMs?: number;
}

/**
 * A client of OP's Alt-DA DA server HTTP API, which op-alt-da's da-server, EigenDA's proxy and this
 * node (`/altda`, src/api/routes/alt-da.ts) serve:
 * - `POST /put/0x<commitment>`, body the data (application/octet-stream): 200;
 * - `POST /put`, body the data: 200 with the commitment (type byte first) as the body. op-alt-da's
 *   server and client send it as raw bytes; a body of `0x` and hex is accepted too;
 * - `GET /get/0x<commitment>`: 200 with the data, 404 when unknown.
 * Keccak commitments are verified here; generic ones (EigenDA's certificates) by the server.
 *
 * @example
 * const da = altDaHttpBackend('http://127.0.0.1:3100', { precompute: false, query: 'commitment_mode=optimism_generic' });
 * const commitment = await da.put(payload);
 */
export function altDaHttpBackend(baseUrl: string, options: AltDaHttpOptions = {}): DaBackend {
  const base = baseUrl.replace(/\/+$/, '');
  const precompute = options.precompute ?? true;
  const url = (path: string) => `${base}${path}${options.query ? `?${options.query}` : ''}`;
  const call = async (method: 'GET' | 'POST', path: string, body?: Uint8Array): Promise<Response> => {
    try {
      return await fetch(url(path), {
        method,
        ...(body ? { body, headers: { 'content-type': 'application/octet-stream' } } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new DaServerError(base, null, err instanceof Error ? err.message : String(err));
    }
  };
  const failed = async (res: Response) => new DaServerError(base, res.status, (await res.text().catch(() => '')).slice(0, 200));

  return {
    kind: 'alt-da-http',
    async put(data) {
      if (precompute) {
        const commitment = keccakCommitment(data);
        const res = await call('POST', `/put/${commitment}`, data);
        if (!res.ok) throw await failed(res);
        await res.arrayBuffer();
        return commitment;
      }
      const res = await call('POST', '/put', data);
      if (!res.ok) throw await failed(res);
      const commitment = commitmentOfBody(new Uint8Array(await res.arrayBuffer()));
      const decoded = decodeCommitment(commitment);
      if (decoded.type === 'keccak256' && commitment !== keccakCommitment(data)) {
        throw new DaCommitmentMismatchError(keccakCommitment(data), commitment, 'the server\'s commitment');
      }
      return commitment;
    },
    async get(commitment) {
      const decoded = decodeCommitment(commitment);
      const res = await call('GET', `/get/${commitment.toLowerCase()}`);
      if (res.status === 404) {
        await res.arrayBuffer();
        throw new DaNotFoundError(commitment, base);
      }
      if (!res.ok) throw await failed(res);
      const data = new Uint8Array(await res.arrayBuffer());
      return decoded.type === 'keccak256' ? verifyKeccakCommitment(commitment, data) : data;
    },
  };
}

/** A `POST /put` answer's commitment: raw bytes, or `0x` and hex as text. */
function commitmentOfBody(body: Uint8Array): Hex {
  const text = new TextDecoder().decode(body).trim();
  if (text.startsWith('0x') && isHex(text, { strict: true }) && text.length % 2 === 0) return bytesToHex(hexToBytes(text as Hex));
  return bytesToHex(body);
}
