-- Up Migration

-- Our customers. Secrets (Acme API key / OAuth tokens, webhook signing secrets) live only
-- in secrets_ciphertext: AES-256-GCM under a master key, bound to the tenant ID.
CREATE TABLE tenants (
  id                       text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
  name                     text        NOT NULL,
  status                   text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
  acme_base_url            text        NOT NULL,
  acme_account_id          text,
  auth_kind                text        NOT NULL CHECK (auth_kind IN ('api_key', 'oauth')),
  secrets_ciphertext       text        NOT NULL,
  secrets_key_id           text        NOT NULL,
  settings                 jsonb       NOT NULL,
  webhook_subscription_id  text,
  version                  integer     NOT NULL DEFAULT 1,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenants_key_id ON tenants (secrets_key_id);

-- Acme's users (sales reps) per tenant: their email maps them to our users, their time
-- zone decides which local day a touch-point counts on.
CREATE TABLE acme_users (
  tenant_id     text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  acme_user_id  text        NOT NULL,
  email         text,
  name          text,
  time_zone     text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, acme_user_id)
);

-- Down Migration
DROP TABLE acme_users;
DROP TABLE tenants;
