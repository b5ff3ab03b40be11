import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { ProgressPoint } from './types.ts';

const lrFormat = (v: number) => v.toExponential(1);

/** The training loss of every optimizer step (left axis) with the learning-rate schedule (right axis). */
export function LossChart({ points, totalSteps }: { points: ProgressPoint[]; totalSteps: number | null }) {
  return (
    <div data-testid="loss-chart" style={{ width: '100%', height: 320 }}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={points} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#eef0f3" />
          <XAxis dataKey="step" type="number" domain={[1, totalSteps ?? 'dataMax']} allowDecimals={false} label={{ value: 'step', position: 'insideBottomRight', offset: -4 }} />
          <YAxis yAxisId="loss" domain={['auto', 'auto']} tickFormatter={(v: number) => v.toFixed(2)} label={{ value: 'loss', angle: -90, position: 'insideLeft' }} />
          <YAxis yAxisId="lr" orientation="right" tickFormatter={lrFormat} width={70} />
          <Tooltip
            labelFormatter={(step) => `step ${String(step)}`}
            formatter={(value, name) => (name === 'learning rate' ? lrFormat(Number(value)) : Number(value).toFixed(4))}
          />
          <Legend />
          <Line yAxisId="loss" type="monotone" dataKey="loss" name="training loss" stroke="#3451b2" dot={false} isAnimationActive={false} />
          <Line yAxisId="lr" type="monotone" dataKey="lr" name="learning rate" stroke="#e07b00" strokeDasharray="4 3" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
