-- Up Migration

-- Contacts as a table (the compacted contacts topic, materialized); calendar rows join from here.
CREATE TABLE contacts (
  tenant_id       text        NOT NULL,
  acme_id         text        NOT NULL,
  acme_version    bigint      NOT NULL,
  first_name      text,
  last_name       text,
  email           text,
  phone           text,
  company         text,
  deleted         boolean     NOT NULL DEFAULT false,
  acme_updated_at timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, acme_id)
);

-- One calendar event per Acme appointment, upserted by (tenant, Acme ID); acme_version only grows.
CREATE TABLE calendar_events (
  tenant_id           text        NOT NULL,
  acme_appointment_id text        NOT NULL,
  acme_version        bigint      NOT NULL,
  user_id             text,
  acme_owner_user_id  text,
  acme_contact_id     text,
  title               text        NOT NULL,
  starts_at           timestamptz NOT NULL,
  ends_at             timestamptz,
  time_zone           text        NOT NULL,
  location            text,
  status              text        NOT NULL CHECK (status IN ('ACTIVE', 'CANCELLED')),
  customer_name       text,
  customer_email      text,
  customer_phone      text,
  correlation_id      text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, acme_appointment_id)
);
CREATE INDEX calendar_events_contact ON calendar_events (tenant_id, acme_contact_id);

-- The facts behind touch-point counts: the latest version of every activity, keyed by Acme ID.
-- Counts are derived from facts, so duplicates, moves and deletes stay exact.
CREATE TABLE activity_facts (
  tenant_id     text        NOT NULL,
  acme_id       text        NOT NULL,
  acme_version  bigint      NOT NULL,
  acme_user_id  text,
  channel       text        CHECK (channel IN ('EMAIL', 'PHONE')),
  day           date,
  deleted       boolean     NOT NULL DEFAULT false,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, acme_id)
);

CREATE TABLE touchpoint_counts (
  tenant_id     text    NOT NULL,
  acme_user_id  text    NOT NULL,
  day           date    NOT NULL,
  channel       text    NOT NULL CHECK (channel IN ('EMAIL', 'PHONE')),
  count         integer NOT NULL CHECK (count >= 0),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, acme_user_id, day, channel)
);

-- Consumed offsets, written in the same transaction as the state they produced.
-- The row lock on (group, topic, partition) fences a zombie consumer (kafkajs#1046).
CREATE TABLE consumer_offsets (
  group_id    text   NOT NULL,
  topic       text   NOT NULL,
  partition   integer NOT NULL,
  next_offset bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

-- Down Migration
DROP TABLE consumer_offsets;
DROP TABLE touchpoint_counts;
DROP TABLE activity_facts;
DROP TABLE calendar_events;
DROP TABLE contacts;
