import OpenAI from 'openai';
import { isAddressEqual, type Address, type Hex, type LocalAccount } from 'viem';
import { createApiClient, type ApiClient } from '../api/contract/client.ts';
import { routes } from '../api/contract/index.ts';
import { bodyHashOf, signRequest, type RequestTarget } from '../api/request-signature.ts';
import { inferenceFee } from '../attribution/receipt-attribution.ts';
import { signSpendAuthorization } from '../chain/spend-authorization.ts';
import { nextAuthorization } from '../settlement/next-authorization.ts';
import { createKeyedLock } from '../util/lock.ts';
import type { Operator } from './operators.ts';

/** A completion a consumer asks the network for (OpenAI's completion fields, camelCase). */
export interface RoutedRequest {
  model: string;
  prompt: string;
  maxTokens: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
}

/** One try at one operator, and how it ended. */
export interface Attempt {
  operator: Address;
  endpoint: string;
  /** null when it answered; otherwise why the client moved on. */
  error: string | null;
  /** Characters of text it streamed before it failed (or in all). */
  streamed: number;
}

/** The answer, and which operator gave it. */
export interface RoutedAnswer {
  text: string;
  finishReason: 'stop' | 'length';
  /** The operator whose receipt this is: the only one that charged. */
  operator: Address;
  endpoint: string;
  receiptId: Hex | null;
  fee: { amount: string; currency: string } | null;
  attribution: unknown;
  usage: { promptTokens: number; completionTokens: number };
  attempts: Attempt[];
}

/** No operator could answer; `attempts` says what each did. */
export class RoutingError extends Error {
  override name = 'RoutingError';
  readonly attempts: Attempt[];
  constructor(message: string, attempts: Attempt[]) {
    super(`${message}${attempts.length ? `: ${attempts.map((a) => `${a.endpoint}: ${a.error}`).join('; ')}` : ''}`);
    this.attempts = attempts;
  }
}

/** An operator answered the retried request with text that differs from what was already streamed: the answer cannot continue seamlessly. */
export class FailoverDivergedError extends RoutingError {
  override name = 'FailoverDivergedError';
}

/** A candidate for one model: its price there and how fast it answered the last probe. */
export interface RankedOperator extends Operator {
  pricePer1kTokens: bigint;
  latencyMs: number;
}

export interface RoutingClientOptions {
  /** The consumer: signs each request for the operator it goes to, and each operator's spend authorisation. */
  account: LocalAccount;
  /** The chain every operator must be on (requests and authorisations are signed for it). */
  chainId: number;
  /** The candidates: usually `listOperators` over the chain (client/operators.ts). */
  operators: () => Promise<Operator[]>;
  /** How much more an operator's authorisation is raised by when it does not cover a request (default 20 times the request's most). */
  authorizeStep?: (maxFee: bigint) => bigint;
  /** Days an authorisation stays valid (default 30). */
  authorizationDays?: number;
  /** How long the operator list and a probe result are kept (default 30 s); a failed probe keeps the operator out as long. */
  probeTtlMs?: number;
  /** A probe's and a request's time to the first byte (default 10 s / 60 s). */
  probeTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** The consumer's side of the network: rank operators for a model, and complete with failover. */
export interface RoutingClient {
  /** The operators serving `model` that answer now, best first: lowest price, then fewest of this client's requests in flight, then fastest, then largest stake. */
  rank(model: string): Promise<RankedOperator[]>;
  /**
   * Streams one completion from the best operator; if it fails before or during the stream, the
   * same request (same Idempotency-Key) goes to the next, and only text beyond what was already
   * streamed reaches `onText`. An operator that dies mid-stream stored no receipt (a receipt is
   * stored, with its charge, only when the answer is complete), so the consumer pays once: the
   * operator that answered.
   */
  complete(request: RoutedRequest, o?: { onText?: (delta: string) => void; signal?: AbortSignal }): Promise<RoutedAnswer>;
}

/** A fetch that signs each request (EIP-712, for `target`) in place of the OpenAI SDK's bearer key. */
function signingFetch(account: LocalAccount, target: RequestTarget): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    headers.delete('authorization');
    const body = typeof init?.body === 'string' ? init.body : undefined;
    const signed = await signRequest(account, { ...target, method: init?.method ?? 'GET', path: url.pathname + url.search, bodyHash: bodyHashOf(body) });
    for (const [k, v] of Object.entries(signed)) headers.set(k, v);
    return fetch(url, { ...init, headers });
  };
}

/** Whether another operator may succeed where this error came from (the request itself is not at fault). */
function worthAnother(err: unknown): boolean {
  // 402: this operator's authorisation or the deposit it can draw fell short (another has its own); 404: it does not serve the model (yet)
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') return err.status === 402 || err.status === 404 || err.status === 408 || err.status === 429 || err.status >= 500;
  return true; // no answer, a broken stream, a timeout
}

/**
 * A routing client: picks an operator for a model from the chain's list (price, its own requests in
 * flight there, measured latency, stake, health), checks that each endpoint answers as the operator the chain lists for it, keeps a
 * spend authorisation per operator just large enough for what is sent to it, and fails over to the
 * next operator when one dies, before or in the middle of a stream, without paying twice.
 *
 * @example
 * const client = createRoutingClient({ account, chainId, operators: () => listOperators(contracts) });
 * const answer = await client.complete({ model: 'facts-qa', prompt, maxTokens: 64 }, { onText: (d) => process.stdout.write(d) });
 */
export function createRoutingClient(o: RoutingClientOptions): RoutingClient {
  const ttl = o.probeTtlMs ?? 30_000;
  const probes = new Map<string, { at: number; result: Promise<{ latencyMs: number; prices: Map<string, bigint> } | null> }>();
  const apis = new Map<string, ApiClient>();
  /** This client's requests in flight, per endpoint. */
  const inflight = new Map<string, number>();
  const apiOf = (endpoint: string) => {
    let api = apis.get(endpoint);
    if (!api) apis.set(endpoint, (api = createApiClient({ baseUrl: endpoint, signer: null })));
    return api;
  };

  /** What an operator serves, at what price, how fast: null when it does not answer, or answers as someone else. */
  const probe = (op: Operator) => {
    const key = `${op.operator}@${op.endpoint}`;
    const cached = probes.get(key);
    if (cached && Date.now() - cached.at < ttl) return cached.result;
    const result = (async () => {
      const signal = AbortSignal.timeout(o.probeTimeoutMs ?? 10_000);
      try {
        const started = performance.now();
        const models = await apiOf(op.endpoint).call(routes.openAiModels, {}, { signal });
        const latencyMs = performance.now() - started;
        const target = await apiOf(op.endpoint).target();
        // an endpoint answering as another account (or on another chain) is not this operator
        if (target.chainId !== o.chainId || !isAddressEqual(target.node, op.operator)) return null;
        return { latencyMs, prices: new Map(models.data.map((m) => [m.id, BigInt(m.openledger.pricePer1kTokens)])) };
      } catch {
        return null;
      }
    })();
    probes.set(key, { at: Date.now(), result });
    return result;
  };

  // the candidates, read again (from the chain, usually) once per probe period
  let listed: { at: number; operators: Promise<Operator[]> } | undefined;
  const operators = () => {
    if (!listed || Date.now() - listed.at >= ttl) {
      const read = o.operators();
      read.catch(() => (listed = undefined));
      listed = { at: Date.now(), operators: read };
    }
    return listed.operators;
  };

  const rank = async (model: string): Promise<RankedOperator[]> => {
    const candidates = await operators();
    const ranked: RankedOperator[] = [];
    await Promise.all(candidates.map(async (op) => {
      const p = await probe(op);
      const price = p?.prices.get(model);
      if (p && price !== undefined) ranked.push({ ...op, pricePer1kTokens: price, latencyMs: p.latencyMs });
    }));
    // cheapest first; among equal prices the one with the fewest of this client's requests in flight
    // (least outstanding requests, so concurrent requests spread over the operators), then the fastest, then the most staked
    const load = (o: RankedOperator) => inflight.get(o.endpoint) ?? 0;
    return ranked.sort((a, b) => (a.pricePer1kTokens !== b.pricePer1kTokens ? (a.pricePer1kTokens < b.pricePer1kTokens ? -1 : 1)
      : load(a) !== load(b) ? load(a) - load(b)
      : a.latencyMs !== b.latencyMs ? a.latencyMs - b.latencyMs
      : b.stake > a.stake ? 1 : b.stake < a.stake ? -1 : 0));
  };

  const withOperator = createKeyedLock<Address>();
  /**
   * What this client may still spend with each operator without asking it: the operator's own
   * figure when last read, less the most each of this client's requests there can cost (actual
   * fees are at most that, and a request counted here may already be reserved there: this errs
   * low). Read again when it does not cover a request.
   */
  const headroom = new Map<Address, bigint>();
  /** The most this client's requests in flight at each operator can cost. */
  const outstanding = new Map<Address, bigint>();
  const owe = (op: Address, amount: bigint) => outstanding.set(op, (outstanding.get(op) ?? 0n) + amount);
  /**
   * Makes sure `op` will serve a request costing up to `maxFee`, and counts it as outstanding until
   * {@link owe} takes it back: raises the operator's authorisation when what the consumer can spend
   * there, less what is outstanding, does not cover it (one at a time per operator: each builds on the last).
   */
  const authorize = (op: RankedOperator, maxFee: bigint) => (maxFee === 0n ? Promise.resolve() : withOperator(op.operator, async () => {
    const known = headroom.get(op.operator);
    if (known === undefined || known < maxFee) {
      const api = apiOf(op.endpoint);
      const read = async () => {
        const funds = await api.call(routes.getFunds, { params: { address: o.account.address } });
        if (!isAddressEqual(funds.operator, op.operator)) throw new Error(`${op.endpoint} keeps funds for ${funds.operator}, not for the operator ${op.operator}`);
        return funds;
      };
      let funds = await read();
      const pending = outstanding.get(op.operator) ?? 0n;
      if (BigInt(funds.available) - pending < maxFee) {
        const auth = nextAuthorization(funds, o.account.address, pending + (o.authorizeStep?.(maxFee) ?? maxFee * 20n), o.authorizationDays ?? 30);
        const signature = await signSpendAuthorization(o.account, { chainId: o.chainId, escrow: funds.escrow }, auth);
        await api.call(routes.submitAuthorization, { body: { auth: { ...auth, cumulativeAmount: auth.cumulativeAmount.toString(), nonce: auth.nonce.toString(), expiry: auth.expiry.toString() }, signature } });
        funds = await read();
      }
      headroom.set(op.operator, BigInt(funds.available) - pending);
    }
    headroom.set(op.operator, headroom.get(op.operator)! - maxFee);
    owe(op.operator, maxFee);
  }));

  return {
    rank,
    async complete(request, opts = {}) {
      let candidates = await rank(request.model);
      if (candidates.length === 0) {
        // what the list and the probes said may be stale (a node that has just joined, or mirrored the model): ask again once
        probes.clear();
        listed = undefined;
        candidates = await rank(request.model);
      }
      const attempts: Attempt[] = [];
      if (candidates.length === 0) throw new RoutingError(`no listed operator serves ${request.model} now`, attempts);
      // one key for every try: an operator that already answered it answers again from its store, charging nothing more
      const requestKey = crypto.randomUUID();
      let delivered = '';
      for (const op of candidates) {
        const attempt: Attempt = { operator: op.operator, endpoint: op.endpoint, error: null, streamed: 0 };
        attempts.push(attempt);
        let text = '';
        let owed = 0n; // what authorize counted as outstanding, taken back when this try ends
        inflight.set(op.endpoint, (inflight.get(op.endpoint) ?? 0) + 1);
        try {
          // the most this request can cost there: every prompt byte a token, plus the answer's limit
          const maxFee = inferenceFee(op.pricePer1kTokens.toString(), new TextEncoder().encode(request.prompt).length + request.maxTokens);
          await authorize(op, maxFee);
          owed = maxFee;
          const openai = new OpenAI({ baseURL: `${op.endpoint}/v1`, apiKey: 'signed-requests', maxRetries: 0, timeout: o.requestTimeoutMs ?? 60_000, fetch: signingFetch(o.account, { chainId: o.chainId, node: op.operator }) });
          const stream = await openai.completions.create(
            { model: request.model, prompt: request.prompt, max_tokens: request.maxTokens, temperature: request.temperature ?? 0, top_p: request.topP ?? 1, seed: request.seed ?? 0, ...(request.stop ? { stop: request.stop } : {}), stream: true },
            { headers: { 'idempotency-key': requestKey }, ...(opts.signal ? { signal: opts.signal } : {}) },
          );
          let last: (OpenAI.Completions.Completion & { openledger?: { receipt_id: Hex | null; fee: RoutedAnswer['fee']; attribution: unknown } }) | undefined;
          for await (const chunk of stream) {
            text += chunk.choices[0]?.text ?? '';
            attempt.streamed = text.length;
            // a retry must say what was said before, then go on
            if (!(delivered.startsWith(text) || text.startsWith(delivered))) {
              throw new FailoverDivergedError(`${op.endpoint} answered the retried request differently from what was already streamed (sampling that is not reproducible across operators)`, attempts);
            }
            if (text.length > delivered.length) {
              opts.onText?.(text.slice(delivered.length));
              delivered = text;
            }
            if (chunk.choices[0]?.finish_reason) last = chunk;
          }
          // a stream that ends without its last chunk (finish reason, receipt) broke off
          if (!last) throw new Error('the stream ended before the answer was complete');
          const finishReason = last.choices[0]!.finish_reason === 'length' ? 'length' : 'stop';
          return {
            text, finishReason, operator: op.operator, endpoint: op.endpoint,
            receiptId: last.openledger?.receipt_id ?? null, fee: last.openledger?.fee ?? null, attribution: last.openledger?.attribution ?? null,
            usage: { promptTokens: last.usage?.prompt_tokens ?? 0, completionTokens: last.usage?.completion_tokens ?? 0 },
            attempts,
          };
        } catch (err) {
          if (err instanceof FailoverDivergedError || opts.signal?.aborted) throw err;
          attempt.error = (err as Error).message; // OpenAI's API errors begin with their status
          // it failed: probe it again before sending it more
          probes.delete(`${op.operator}@${op.endpoint}`);
          headroom.delete(op.operator); // and read what it will serve again
          if (!worthAnother(err)) throw new RoutingError(`the request was refused`, attempts);
        } finally {
          inflight.set(op.endpoint, inflight.get(op.endpoint)! - 1);
          if (owed > 0n) owe(op.operator, -owed);
        }
      }
      throw new RoutingError(`every operator serving ${request.model} failed`, attempts);
    },
  };
}
