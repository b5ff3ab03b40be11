-- ModelFactory: base models known to the node, fine-tuning jobs (the queue), their progress, and
-- the models they published.

create table base_models (
  id              text primary key,          -- 0x content hash of config.json, tokenizer.json and weights
  name            text not null unique,
  path            text not null,             -- the model folder on this node's disk
  config          jsonb not null,            -- the parsed config.json
  parameters      bigint not null,
  created_at      timestamptz not null default now()
);

create table training_jobs (
  id                 text primary key,       -- uuid
  owner              text not null,          -- who asked for it and will own the model
  model_name         text not null,          -- the name it is registered under
  base_model_id      text not null references base_models (id),
  snapshot_ids       bigint[] not null,      -- node-local snapshot ids
  template           jsonb not null,
  hyperparameters    jsonb not null,
  price_per_1k       numeric(78, 0) not null,
  config_hash        text not null,          -- keccak256 of the canonical training configuration
  status             text not null check (status in ('queued', 'preparing', 'training', 'publishing', 'succeeded', 'failed', 'cancelled')),
  cancel_requested   boolean not null default false,
  attempts           integer not null default 0,
  step               integer not null default 0,
  total_steps        integer,
  progress           jsonb,                  -- the last progress report
  evaluation         jsonb,                  -- held-out loss/perplexity of base and tuned model
  examples           jsonb,                  -- counts of train / held-out / skipped examples
  adapter_hash       text,                   -- keccak256 of adapter_model.safetensors
  adapter_blob       text,                   -- blob of adapter_model.safetensors
  adapter_config_blob text,                  -- blob of adapter_config.json
  trace_blob         text,                   -- blob of the attribution trace (training tokens, map, gradient sketches)
  metadata_blob      text,
  model_id           numeric(78, 0),         -- ModelRegistry id once registered
  tx_hash            text,
  sent_from_block    bigint,
  error              text,
  created_at         timestamptz not null default now(),
  started_at         timestamptz,
  finished_at        timestamptz,
  updated_at         timestamptz not null default now()
);
create index training_jobs_status on training_jobs (status, created_at);
create unique index training_jobs_live_name on training_jobs (model_name) where status not in ('failed', 'cancelled');

create table training_progress (
  job_id             text not null references training_jobs (id),
  step               integer not null,
  loss               double precision not null,
  lr                 double precision not null,
  grad_norm          double precision not null,
  tokens             integer not null,
  tokens_per_second  double precision not null,
  at                 timestamptz not null default now(),
  primary key (job_id, step)
);
