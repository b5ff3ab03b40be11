import { useCallback, useEffect, useRef, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, call, routes } from '../../api.ts';
import { finishedStatuses, type ProgressPoint, type TrainingJob } from './types.ts';

/** How often the job and its curve are polled (the event stream usually gets there first). */
const POLL_MS = 4000;

/**
 * A job kept up to date while it runs: its server-sent events (`GET /factory/jobs/:id/events`)
 * update it and its loss curve as they happen, and polling (`GET /factory/jobs/:id`, the curve's
 * new points from `/progress?after=`) covers a stream that cannot be opened.
 *
 * @example
 * const { job, points } = useJobLive(id);
 */
export function useJobLive(id: string) {
  const queryClient = useQueryClient();
  const job = useQuery({
    queryKey: ['factory-job', id],
    queryFn: () => call(routes.getTrainingJob, { params: { id } }),
    // a finished job never changes again; an unknown one will not appear
    refetchInterval: (q) => ((q.state.data && finishedStatuses.has(q.state.data.status)) || (q.state.error instanceof ApiError && q.state.error.status === 404) ? false : POLL_MS),
  });
  const running = job.data !== undefined && !finishedStatuses.has(job.data.status);

  const [points, setPoints] = useState<ProgressPoint[]>([]);
  const [curveError, setCurveError] = useState<unknown>(null);
  const buffer = useRef<ProgressPoint[]>([]);
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // points arrive one event each: merge them in batches so a long curve replays in a few renders
  const merge = useCallback((incoming: ProgressPoint[]) => {
    buffer.current.push(...incoming);
    flushTimer.current ??= setTimeout(() => {
      flushTimer.current = null;
      const batch = buffer.current;
      buffer.current = [];
      setPoints((prev) => {
        const byStep = new Map(prev.map((p) => [p.step, p]));
        for (const p of batch) byStep.set(p.step, p);
        return [...byStep.values()].sort((a, b) => a.step - b.step);
      });
    }, 150);
  }, []);
  const lastStep = useRef(0);
  useEffect(() => {
    lastStep.current = Math.max(lastStep.current, points.at(-1)?.step ?? 0);
  }, [points]);

  const phase = job.data === undefined ? 'loading' : running ? 'running' : 'finished';

  useEffect(() => {
    buffer.current = [];
    lastStep.current = 0;
    setPoints([]);
  }, [id]);

  // the curve: fetched once, then its new points while the job runs, and a last time once it ends
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const { points: fresh } = await call(routes.getTrainingProgress, { params: { id }, query: { after: lastStep.current } });
        if (stopped) return;
        if (fresh.length) {
          lastStep.current = Math.max(lastStep.current, fresh.at(-1)!.step);
          merge(fresh);
        }
        setCurveError(null);
      } catch (err) {
        if (!stopped) setCurveError(err);
      }
      if (!stopped && phase === 'running') timer = setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id, merge, phase]);

  // the live stream, while the job runs
  useEffect(() => {
    if (!running || typeof EventSource === 'undefined') return;
    const events = new EventSource(`/factory/jobs/${id}/events`);
    events.addEventListener('job', (e) => queryClient.setQueryData(['factory-job', id], JSON.parse((e as MessageEvent<string>).data) as TrainingJob));
    events.addEventListener('progress', (e) => merge([JSON.parse((e as MessageEvent<string>).data) as ProgressPoint]));
    events.addEventListener('end', () => {
      events.close();
      void queryClient.invalidateQueries({ queryKey: ['factory-job', id] });
    });
    return () => events.close();
  }, [id, running, merge, queryClient]);

  useEffect(() => () => {
    if (flushTimer.current) clearTimeout(flushTimer.current);
    flushTimer.current = null;
  }, []);

  return { job, points, curveError };
}
