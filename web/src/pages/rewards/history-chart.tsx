import { useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatEther } from 'viem';
import { Empty } from '../../components/states.tsx';
import type { HistoryRow } from './types.ts';

type By = 'datanet' | 'model';

const COLORS = ['#3451b2', '#1a7f37', '#c2410c', '#7c3aed', '#0e7490', '#b91c1c', '#a16207', '#be185d', '#4d7c0f', '#475569'];

/** What a credit counts towards: its datanet or its model (staking and model ownership have neither). */
const seriesOf = (r: HistoryRow, by: By): string =>
  by === 'datanet'
    ? (r.role === 'staker' ? 'staking' : r.datanetId === 0 ? 'model ownership' : `datanet ${r.datanetId}`)
    : (r.role === 'staker' || !r.modelName ? 'staking' : r.modelName);

/**
 * The chart rows: one per epoch (oldest first), one value in OPEN per series, per epoch or summed
 * up to it. Series are keyed `s0, s1…` (names may hold characters chart keys cannot).
 */
export function chartData(rows: HistoryRow[], by: By, cumulative: boolean) {
  const names: string[] = [];
  const epochs = new Map<number, { postedAt: string | null; sums: Map<number, bigint> }>();
  for (const r of rows) {
    const name = seriesOf(r, by);
    let i = names.indexOf(name);
    if (i < 0) i = names.push(name) - 1;
    const e = epochs.get(r.epoch) ?? { postedAt: r.postedAt, sums: new Map<number, bigint>() };
    e.sums.set(i, (e.sums.get(i) ?? 0n) + BigInt(r.amount));
    epochs.set(r.epoch, e);
  }
  const running = names.map(() => 0n);
  const data = [...epochs].sort(([a], [b]) => a - b).map(([epoch, e]) => {
    const point: Record<string, number | string> = { label: `epoch ${epoch}`, date: e.postedAt ? new Date(e.postedAt).toLocaleString() : 'not posted' };
    names.forEach((_, i) => {
      const v = e.sums.get(i) ?? 0n;
      running[i]! += v;
      point[`s${i}`] = Number(formatEther(cumulative ? running[i]! : v));
    });
    return point;
  });
  return { names, data };
}

/** Earnings over time (epoch by epoch) per datanet or per model, as a stacked bar chart. */
export function RewardsHistoryChart({ rows }: { rows: HistoryRow[] }) {
  const [by, setBy] = useState<By>('datanet');
  const [cumulative, setCumulative] = useState(false);
  const { names, data } = useMemo(() => chartData(rows, by, cumulative), [rows, by, cumulative]);
  return (
    <div data-testid="rewards-chart">
      <div className="row" style={{ marginBottom: '.5rem' }}>
        <label className="row">per
          <select value={by} onChange={(e) => setBy(e.target.value as By)}>
            <option value="datanet">datanet</option>
            <option value="model">model</option>
          </select>
        </label>
        <label className="row"><input type="checkbox" checked={cumulative} onChange={(e) => setCumulative(e.target.checked)} /> cumulative</label>
      </div>
      {rows.length === 0 ? <Empty>No earnings over time yet: each posted epoch that credits you adds a bar.</Empty> : (
        <ResponsiveContainer width="100%" height={300}>
          <BarChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="label" />
            <YAxis tickFormatter={(v: number) => v.toLocaleString('en', { maximumFractionDigits: 4 })} label={{ value: 'OPEN', angle: -90, position: 'insideLeft' }} />
            <Tooltip
              formatter={(v) => `${Number(v).toLocaleString('en', { maximumFractionDigits: 6 })} OPEN`}
              labelFormatter={(label, payload) => `${String(label)} · ${String(payload?.[0]?.payload?.date ?? '')}`}
            />
            <Legend />
            {names.map((name, i) => <Bar key={name} dataKey={`s${i}`} name={name} stackId="earnings" fill={COLORS[i % COLORS.length]} />)}
          </BarChart>
        </ResponsiveContainer>
      )}
    </div>
  );
}
