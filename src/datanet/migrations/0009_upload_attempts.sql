-- How many times processing an upload started without finishing or failing cleanly: a file that
-- kills the node (out of memory) is marked failed after a few starts instead of crash-looping it.
alter table uploads add column attempts integer not null default 0;
create index uploads_contributor on uploads (lower(contributor), created_at);
