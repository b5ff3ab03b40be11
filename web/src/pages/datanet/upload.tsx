import { useRef, useState, type DragEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { useAccount } from '../../account.tsx';
import { ErrorBox, Field } from '../../components/states.tsx';
import type { Datanet, UploadResponse } from './types.ts';
import { ACCEPT, fileProblem, formatOfName, uploadFile, UPLOAD_FORMATS, type UploadFormat, type UploadPhase } from './upload-file.ts';
import { UploadResult } from './upload-result.tsx';

const FORMAT_LABELS: Record<UploadFormat, string> = {
  auto: 'from the file name', jsonl: 'JSON Lines', csv: 'CSV', tsv: 'TSV', text: 'text (one record per line)', parquet: 'Parquet',
};

const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 2 : 1)} MiB`;

/**
 * Contribute a file of records: drop it on the zone or pick it, it is hashed, signed and uploaded
 * as the connected account, and the node's verdict on every record is shown.
 */
export function UploadPanel({ datanet }: { datanet: Datanet & { id: number } }) {
  const { signer } = useAccount();
  const queryClient = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const abort = useRef<AbortController | null>(null);
  const [over, setOver] = useState(false);
  const [format, setFormat] = useState<UploadFormat>('auto');
  const [problem, setProblem] = useState<string | null>(null);
  const [phase, setPhase] = useState<UploadPhase | null>(null);
  const [file, setFile] = useState<File | null>(null);

  const upload = useMutation({
    mutationFn: (f: File) => {
      abort.current = new AbortController();
      return uploadFile({ datanetId: datanet.id, file: f, signer: signer!, format, onPhase: setPhase, signal: abort.current.signal });
    },
    onSettled: () => {
      setPhase(null);
      abort.current = null;
    },
    onSuccess: (res: UploadResponse) => {
      queryClient.setQueryData(['upload', res.upload.id], res.upload);
      void queryClient.invalidateQueries({ queryKey: ['datanet-stats', datanet.id] });
      void queryClient.invalidateQueries({ queryKey: ['datanet-contributions', datanet.id] });
    },
  });

  const start = (files: FileList | null) => {
    if (!files || files.length === 0) return;
    if (files.length > 1) return setProblem('drop one file at a time');
    const f = files[0]!;
    setFile(f);
    const p = !signer ? 'connect an account first: it signs the upload and is credited as the contributor' : fileProblem(f, format);
    setProblem(p);
    if (!p) upload.mutate(f);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (!upload.isPending) start(e.dataTransfer.files);
  };
  const busy = upload.isPending;

  return (
    <>
      <div
        className={`dropzone${over ? ' over' : ''}`} data-testid="upload-dropzone"
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
        aria-busy={busy}
      >
        <p>Drop a file of records here: JSON Lines, CSV, TSV, text or Parquet (up to 256 MiB).</p>
        <p>
          <button type="button" className="secondary" onClick={() => input.current?.click()} disabled={busy}>Choose a file…</button>
          <input
            ref={input} type="file" data-testid="upload-input" accept={ACCEPT} hidden disabled={busy}
            onChange={(e) => { start(e.target.files); e.target.value = ''; }}
          />
        </p>
        {!signer && <p className="error"><Link to="/">Connect an account</Link> to contribute.</p>}
      </div>
      <div className="row" style={{ marginTop: '.5rem' }}>
        <Field label="Format">
          <select value={format} onChange={(e) => setFormat(e.target.value as UploadFormat)} disabled={busy} data-testid="upload-format">
            {UPLOAD_FORMATS.map((f) => <option key={f} value={f}>{FORMAT_LABELS[f]}</option>)}
          </select>
        </Field>
        {file && format === 'auto' && formatOfName(file.name) && <small className="empty">{file.name}: {FORMAT_LABELS[formatOfName(file.name)!]}</small>}
      </div>
      {problem && <p className="error" role="alert" data-testid="upload-problem">{problem}</p>}
      {busy && phase && <Progress phase={phase} file={file} onCancel={() => abort.current?.abort()} />}
      {upload.isError && !(upload.error instanceof DOMException && upload.error.name === 'AbortError') && <ErrorBox error={upload.error} />}
      {upload.isError && upload.error instanceof DOMException && upload.error.name === 'AbortError' && <p className="empty">Upload cancelled.</p>}
      {upload.data && !busy && <UploadResult key={upload.data.upload.id} initial={upload.data.upload} />}
    </>
  );
}

/** The phase of an upload under way, with a bar where its size is known. */
function Progress({ phase, file, onCancel }: { phase: UploadPhase; file: File | null; onCancel: () => void }) {
  const text = phase.phase === 'hashing' ? `Hashing ${file?.name ?? 'the file'} (keccak256): ${mib(phase.done)} of ${mib(phase.total)}`
    : phase.phase === 'reading' ? `Reading the records to sign: ${phase.records.toLocaleString('en')}`
    : phase.phase === 'signing' ? 'Signing the upload…'
    : phase.phase === 'sending' ? `Sending: ${mib(phase.done)} of ${mib(phase.total)}`
    : 'Sent. The node is validating every record…';
  const fraction = phase.phase === 'hashing' || phase.phase === 'sending' ? (phase.total ? phase.done / phase.total : 0) : undefined;
  return (
    <div data-testid="upload-progress" role="status" style={{ marginTop: '.5rem' }}>
      <div className="row">
        <span>{text}</span>
        {phase.phase !== 'validating' && <button type="button" className="secondary" onClick={onCancel}>Cancel</button>}
      </div>
      <progress style={{ width: '100%' }} max={1} {...(fraction !== undefined ? { value: fraction } : {})} />
    </div>
  );
}
