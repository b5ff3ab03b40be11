-- API keys for the OpenAI-compatible API: each bound to the account that created it (by a signed
-- request). Only a hash of the secret is kept.

create table api_keys (
  id          text primary key,               -- the key's public part (olk_<id>_…)
  account     text not null,
  secret_hash text not null,                  -- sha256 of the secret part, hex
  name        text not null default '',
  created_at  timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at  timestamptz
);
create index api_keys_account on api_keys (lower(account));
