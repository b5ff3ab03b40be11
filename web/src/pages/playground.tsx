import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { ApiError, open, call, routes } from '../api.ts';
import { useAccount } from '../account.tsx';
import { Card, Empty, ErrorBox, Field, Query } from '../components/states.tsx';
import { AttributedAnswer } from './playground/attributed-answer.tsx';
import { FundsPanel } from './playground/funds-panel.tsx';
import { streamChat } from './playground/stream.ts';
import type { ModelEntry, Turn } from './playground/types.ts';

const isPaid = (m: ModelEntry | undefined) => !!m && BigInt(m.openledger.pricePer1kTokens) > 0n;

/**
 * Chat with a published model (or a base model) of this node: the answer streams in, signed by the
 * connected account, then shows its attributed spans, the contributions behind them, the fee paid and
 * the receipt. A paid model that the account cannot pay for answers 402: the node's message and a
 * fund form (deposit + spend authorisation) appear right there, and the question is asked again once
 * funded. `?model=<name>` preselects a model.
 */
export function PlaygroundPage() {
  const account = useAccount();
  const { signer } = account;
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const models = useQuery({ queryKey: ['v1-models'], queryFn: () => call(routes.openAiModels, {}) });
  const model = params.get('model') ?? '';
  const setModel = (name: string) => setParams(name ? { model: name } : {}, { replace: true });
  useEffect(() => {
    const first = models.data?.data[0];
    if (!model && first) setModel(first.id);
  }, [models.data, model]); // setModel changes with the location: not a reason to run again
  const entry = models.data?.data.find((m) => m.id === model);

  const [temperature, setTemperature] = useState('0');
  const [maxTokens, setMaxTokens] = useState('128');
  const [input, setInput] = useState('');
  const [turns, setTurns] = useState<Turn[]>([]);
  const [live, setLive] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [need, setNeed] = useState<string | null>(null);
  const [touched, setTouched] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const turnsNow = useRef(turns);
  turnsNow.current = turns;
  useEffect(() => () => abort.current?.abort(), []);

  const t = Number(temperature), n = Number(maxTokens);
  const errors = {
    model: !model ? 'pick a model' : models.data && !entry ? `this node serves no model “${model}”` : undefined,
    temperature: temperature.trim() !== '' && t >= 0 && t <= 2 ? undefined : 'between 0 and 2',
    maxTokens: Number.isInteger(n) && n >= 1 && n <= 512 ? undefined : 'a whole number from 1 to 512',
    input: input.trim() ? undefined : 'write a message',
  };
  const busy = live !== null;

  /** Asks for an answer to `history` (which ends with the user's message). */
  const run = async (history: Turn[]) => {
    if (!signer) return;
    const ac = new AbortController();
    abort.current = ac;
    setTurns(history);
    setError(null);
    setNeed(null);
    setLive('');
    try {
      const answer = await streamChat({
        model, messages: history.map((h) => ({ role: h.role, content: h.content })), temperature: t, maxTokens: n,
        signer, signal: ac.signal, onText: setLive,
      });
      setTurns([...history, answer]);
      void qc.invalidateQueries({ queryKey: ['funds'] });
    } catch (err) {
      if (ac.signal.aborted) return;
      if (err instanceof ApiError && err.status === 402) setNeed(err.message);
      else setError(err);
    } finally {
      if (abort.current === ac) abort.current = null;
      setLive(null);
    }
  };

  const send = (e?: FormEvent) => {
    e?.preventDefault();
    setTouched(true);
    if (busy || !signer || errors.model || errors.temperature || errors.maxTokens || errors.input) return;
    const history: Turn[] = [...turns, { role: 'user', content: input.trim() }];
    setInput('');
    setTouched(false);
    void run(history);
  };
  // also called once funded, from a form that outlived this render: the turns as they are now
  const retry = () => {
    const history = turnsNow.current;
    if (history.at(-1)?.role === 'user') void run(history);
  };
  const stop = () => {
    abort.current?.abort();
    abort.current = null;
    setLive(null);
  };

  const lastAnswer = live === null ? turns.findLastIndex((x) => x.role === 'assistant') : -1;

  return (
    <>
      <h1>Playground</h1>
      <Card title="Model">
        <Query q={models} what="Loading models">
          {(d) => d.data.length === 0 ? <Empty>This node serves no model yet: publish one from <Link to="/factory">ModelFactory</Link>, or add a base model.</Empty> : (
            <div className="row" style={{ alignItems: 'flex-start' }}>
              <Field label="Model" error={touched || model ? errors.model : undefined}>
                <select data-testid="playground-model" value={entry ? model : ''} onChange={(e) => setModel(e.target.value)} disabled={busy}>
                  {!entry && <option value="">pick a model</option>}
                  <ModelOptions label="Published models" models={d.data.filter((m) => m.openledger.modelId !== null)} />
                  <ModelOptions label="Base models (free, not attributed)" models={d.data.filter((m) => m.openledger.modelId === null)} />
                </select>
              </Field>
              <Field label="Temperature" error={errors.temperature} hint="0: always the likeliest word">
                <input data-testid="playground-temperature" type="number" min={0} max={2} step={0.1} value={temperature} onChange={(e) => setTemperature(e.target.value)} style={{ width: '6rem' }} />
              </Field>
              <Field label="Max tokens" error={errors.maxTokens} hint="1 to 512">
                <input data-testid="playground-max-tokens" type="number" min={1} max={512} step={1} value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} style={{ width: '6rem' }} />
              </Field>
              {entry && (
                <p style={{ alignSelf: 'center' }}>
                  {entry.openledger.modelId !== null
                    ? <>{isPaid(entry) ? <>{open(entry.openledger.pricePer1kTokens)} per 1,000 tokens</> : 'free'} · owner <code>{entry.owned_by}</code></>
                    : 'base model: no fee, no attribution'}
                </p>
              )}
            </div>
          )}
        </Query>
      </Card>

      {!signer ? (
        <Card><Empty>Requests are signed by your account: <Link to="/">connect one</Link> to chat.</Empty></Card>
      ) : (
        <Card title="Chat" actions={turns.length > 0 && !busy ? <button type="button" className="secondary" onClick={() => { setTurns([]); setError(null); setNeed(null); }}>new chat</button> : undefined}>
          <div className="chat">
            {turns.length === 0 && live === null && <Empty>Ask something: the answer shows which parts were found in the data of which contributors.</Empty>}
            {turns.map((turn, i) => turn.role === 'user'
              ? <div key={i} className="turn user"><b>You:</b> <span style={{ whiteSpace: 'pre-wrap' }}>{turn.content}</span></div>
              : <AttributedAnswer key={i} turn={turn} current={i === lastAnswer} />)}
            {live !== null && <AttributedAnswer turn={{ role: 'assistant', content: live }} current />}
          </div>
          <form onSubmit={send} noValidate>
            <Field label="Message" error={touched ? errors.input : undefined} hint="Enter sends, Shift+Enter starts a new line">
              <textarea
                data-testid="playground-input" rows={3} value={input} onChange={(e) => setInput(e.target.value)}
                onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); } }}
              />
            </Field>
            <div className="row">
              <button type="submit" data-testid="playground-send" disabled={busy}>{busy ? 'Answering…' : 'Send'}</button>
              {busy && <button type="button" className="secondary" onClick={stop}>stop</button>}
              {!busy && (need !== null || error !== null) && turns.at(-1)?.role === 'user' && <button type="button" className="secondary" onClick={retry}>retry</button>}
            </div>
          </form>
          <ErrorBox error={error} />
        </Card>
      )}
      {signer && (need !== null || isPaid(entry)) && <FundsPanel need={need} onFunded={retry} />}
    </>
  );
}

function ModelOptions({ label, models }: { label: string; models: ModelEntry[] }) {
  if (models.length === 0) return null;
  return (
    <optgroup label={label}>
      {models.map((m) => <option key={m.id} value={m.id}>{m.id}{BigInt(m.openledger.pricePer1kTokens) > 0n ? ` — ${open(m.openledger.pricePer1kTokens)} / 1k tokens` : ''}</option>)}
    </optgroup>
  );
}
