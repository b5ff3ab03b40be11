import type { ReactNode } from 'react';
import type { UseInfiniteQueryResult, UseQueryResult } from '@tanstack/react-query';

/** A spinner line while something loads. */
export function Loading({ what = 'Loading' }: { what?: string }) {
  return <p className="loading" role="status">{what}…</p>;
}

/** An error, in plain words (the node's own message when it sent one). */
export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  return <p className="error" role="alert">{error instanceof Error ? error.message : String(error)}</p>;
}

/** What to show when a list is empty, with what to do about it. */
export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/**
 * Renders a query's loading and error states, then `children(data)`.
 *
 * @example
 * <Query q={datanets}>{(d) => <List items={d.datanets} />}</Query>
 */
export function Query<T>({ q, what, children }: { q: UseQueryResult<T>; what?: string; children: (data: T) => ReactNode }) {
  if (q.isPending) return <Loading {...(what ? { what } : {})} />;
  if (q.isError) return <ErrorBox error={q.error} />;
  return <>{children(q.data)}</>;
}

/** A titled section. */
export function Card({ title, children, actions }: { title?: ReactNode; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card">
      {(title || actions) && <header>{title && <h2>{title}</h2>}{actions}</header>}
      {children}
    </section>
  );
}

/** A labelled form field with its validation message. */
export function Field({ label, error, children, hint }: { label: string; error?: string | undefined; hint?: string; children: ReactNode }) {
  return (
    <label className={`field${error ? ' invalid' : ''}`}>
      <span>{label}</span>
      {children}
      {hint && !error && <small>{hint}</small>}
      {error && <small className="field-error">{error}</small>}
    </label>
  );
}

/** Shortens an address or hash for display, keeping it in the title. */
export function Short({ value, chars = 6 }: { value: string; chars?: number }) {
  return <code title={value}>{value.length > 2 * chars + 3 ? `${value.slice(0, chars + 2)}…${value.slice(-chars)}` : value}</code>;
}

/**
 * The "Show more" button under a paged list: shown while the query has another page, disabled
 * while it loads it.
 *
 * @example
 * <ShowMore list={contributions} />
 */
export function ShowMore({ list }: { list: Pick<UseInfiniteQueryResult, 'hasNextPage' | 'isFetchingNextPage' | 'fetchNextPage'> }) {
  if (!list.hasNextPage) return null;
  return (
    <p><button type="button" className="secondary" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
      {list.isFetchingNextPage ? 'Loading…' : 'Show more'}
    </button></p>
  );
}
