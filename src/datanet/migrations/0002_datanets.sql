-- Datanets: their records, contributions, uploads, anchored batches and snapshots. (The nonces of
-- signed requests, created here once, are the store's: 0014.)

create table datanets (
  key                      bigserial primary key,
  id                       bigint unique,        -- DatanetRegistry id, once registered on chain
  chain_id                 bigint not null,
  owner                    text not null,
  name                     text not null unique,
  description              text not null default '',
  record_schema            jsonb,                -- JSON Schema of a record; null: free text
  licence                  text not null,
  contribution_stake       numeric(78, 0) not null default 0,
  curation                 text not null check (curation in ('auto', 'manual')),
  near_duplicate_threshold real not null check (near_duplicate_threshold > 0 and near_duplicate_threshold <= 1),
  rules                    jsonb not null default '{}',
  metadata_uri             text not null unique,
  status                   text not null check (status in ('creating', 'transferring', 'active')),
  sent_from_block          bigint,               -- chain head before its registration was sent
  created_at               timestamptz not null default now()
);

create table datanet_curators (
  datanet_key  bigint not null references datanets (key),
  address      text not null,
  primary key (datanet_key, address)
);

create table uploads (
  id           uuid primary key,
  datanet_id   bigint not null references datanets (id),
  contributor  text not null,
  filename     text,
  format       text,
  blob_hash    text,                 -- the uploaded file, kept until processed
  status       text not null check (status in ('received', 'processing', 'done', 'failed')),
  bytes        bigint not null default 0,
  records      integer not null default 0,
  accepted     integer not null default 0,
  pending      integer not null default 0,
  rejected     integer not null default 0,
  error        text,
  created_at   timestamptz not null default now(),
  finished_at  timestamptz
);

create table anchor_batches (
  id            bigserial primary key,
  datanet_id    bigint not null references datanets (id),
  root          text not null,
  count         integer not null,
  status        text not null check (status in ('open', 'anchored')),
  batch_index   bigint,              -- index on chain, once anchored
  tx_hash       text,
  sent_from_block bigint,
  created_at    timestamptz not null default now(),
  anchored_at   timestamptz,
  unique (datanet_id, root)
);

create table contributions (
  id                  text primary key,       -- keccak256(abi.encode(content_hash, contributor))
  datanet_id          bigint not null references datanets (id),
  contributor         text not null,
  content_hash        text not null,
  kind                text not null check (kind in ('object', 'text')),
  content             text not null,          -- canonical JSON (objects) or the text itself
  size                integer not null,
  status              text not null check (status in ('pending', 'accepted', 'rejected')),
  reason              text,                   -- why a curator rejected it
  spam                boolean not null default false,
  minhash             bytea,                  -- near-duplicate signature
  upload_id           uuid references uploads (id),
  record_index        integer,
  batch_id            bigint references anchor_batches (id),
  slash_status        text check (slash_status in ('pending', 'done', 'failed')),
  slash_tx            text,
  decided_by          text,
  decided_at          timestamptz,
  created_at          timestamptz not null default now()
);
create unique index contributions_live_content on contributions (datanet_id, content_hash) where status <> 'rejected';
create index contributions_by_datanet on contributions (datanet_id, status, created_at);
create index contributions_by_contributor on contributions (contributor, created_at);
create index contributions_unanchored on contributions (datanet_id) where status = 'accepted' and batch_id is null;
create index contributions_by_upload on contributions (upload_id, record_index);

create table upload_rejections (
  upload_id     uuid not null references uploads (id),
  record_index  integer not null,
  reason        text not null,
  detail        text not null,
  duplicate_of  text,
  primary key (upload_id, record_index)
);

create table snapshots (
  id              bigserial primary key,
  datanet_id      bigint not null references datanets (id),
  root            text not null unique,
  count           integer not null,
  blob_hash       text not null,             -- the sorted list of contribution ids
  status          text not null check (status in ('building', 'recorded')),
  snapshot_index  bigint,
  tx_hash         text,
  sent_from_block bigint,
  requested_by    text not null,
  created_at      timestamptz not null default now(),
  recorded_at     timestamptz
);

create table snapshot_members (
  snapshot_id      bigint not null references snapshots (id),
  contribution_id  text not null references contributions (id),
  primary key (snapshot_id, contribution_id)
);
