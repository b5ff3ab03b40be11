-- Each anchored batch's DA payload (its records: contributor and canonical content, see
-- src/datanet/da/payload.ts), published through a DA backend before the batch is anchored: the
-- backend's Alt-DA commitment (named on chain by the batch's uri) and keccak256 of the payload (the
-- commitment DatanetRegistry stores and DataAvailabilityChallenge checks). Null until published;
-- batches anchored before this migration have neither.
alter table anchor_batches add column da_commitment text;
alter table anchor_batches add column data_hash text;
