-- Up Migration

-- One sealed canary per master key ID, written the first time a process starts with that
-- key configured. Every start-up opens each configured key's canary: a well-formed but
-- wrong key under a known ID (a typo'd MASTER_KEYS) stops start-up instead of turning
-- every webhook into 500 SECRET_UNREADABLE (issue 13). Holds no secret: the plaintext is
-- a fixed marker, sealed with AES-256-GCM like tenants' secrets.
CREATE TABLE master_key_canaries (
  key_id      text        PRIMARY KEY,
  ciphertext  text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE master_key_canaries;
