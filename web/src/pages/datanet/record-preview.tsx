import type { Contribution } from './types.ts';

const LIMIT = 280;

/** A contribution's record, shortened, with the whole of it on demand. */
export function RecordPreview({ record }: { record: Contribution['record'] }) {
  const text = typeof record === 'string' ? record : JSON.stringify(record);
  if (text.length <= LIMIT) return <code style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>{text}</code>;
  return (
    <details>
      <summary><code style={{ wordBreak: 'break-word' }}>{text.slice(0, LIMIT)}…</code></summary>
      <pre style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word', maxHeight: '20rem', overflow: 'auto' }}>
        {typeof record === 'string' ? record : JSON.stringify(record, null, 2)}
      </pre>
    </details>
  );
}
