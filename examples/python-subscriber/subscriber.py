#!/usr/bin/python3
"""Reads calendar.events.v1 and touchpoints.daily.v1 as another team would.

Only the contract in schemas/asyncapi.yaml is assumed, not our code:
  * values are Avro in the Confluent wire format (byte 0 = 0, bytes 1-4 = schema ID,
    big-endian), the writer schema comes from a Confluent-compatible registry
    (GET /schemas/ids/{id}; here Apicurio's /apis/ccompat/v7);
  * both topics are tables: the latest record per key (by offset) is the state,
    a null value (tombstone) deletes the key;
  * keys are `tenant_id:acme_appointment_id` and `tenant_id:acme_user_id:day:channel`
    (day as YYYY-MM-DD); the value's `day` is an Avro date (int days since epoch),
    timestamps are timestamp-millis (epoch ms, UTC).

Debian packages only: python3-confluent-kafka and python3-avro (Apache Avro). The
registry is read with urllib because Debian's confluent-kafka 1.7 SchemaRegistryClient
needs `requests` and fastavro, which a subscriber may not have.

Reads every partition from the beginning up to the high watermark seen at start, then
prints a calendar and a touch-point summary; --json writes the latest-per-key view.
"""
import argparse
import datetime as dt
import io
import json
import struct
import sys
import urllib.request
from collections import defaultdict

import avro.io
import avro.schema
from confluent_kafka import Consumer, KafkaException, TopicPartition

CALENDAR = "calendar.events.v1"
TOUCHPOINTS = "touchpoints.daily.v1"


class Registry:
    """Writer schemas by ID, cached (an ID never changes its schema)."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        self.readers = {}

    def reader(self, schema_id):
        if schema_id not in self.readers:
            with urllib.request.urlopen(f"{self.url}/schemas/ids/{schema_id}", timeout=10) as res:
                schema = avro.schema.parse(json.load(res)["schema"])
            self.readers[schema_id] = avro.io.DatumReader(schema)
        return self.readers[schema_id]

    def decode(self, raw):
        if raw is None:
            return None
        if len(raw) < 5 or raw[0] != 0:
            raise ValueError("not in the Confluent wire format (magic byte 0)")
        (schema_id,) = struct.unpack(">I", raw[1:5])
        return self.reader(schema_id).read(avro.io.BinaryDecoder(io.BytesIO(raw[5:])))


def expected_key(topic, value):
    """The key as the contract documents it, from the value's fields."""
    if topic == CALENDAR:
        return f"{value['tenant_id']}:{value['acme_appointment_id']}"
    return f"{value['tenant_id']}:{value['acme_user_id']}:{value['day'].isoformat()}:{value['channel']}"


def jsonable(value):
    """Dates as YYYY-MM-DD, instants as epoch ms (what is on the wire)."""
    out = {}
    for name, v in value.items():
        if isinstance(v, dt.datetime):
            out[name] = round(v.timestamp() * 1000)
        elif isinstance(v, dt.date):
            out[name] = v.isoformat()
        else:
            out[name] = v
    return out


def read_tables(bootstrap, registry, prefix, group):
    """Latest value per key of both output topics, read up to the end seen at start."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    topics = {prefix + CALENDAR: CALENDAR, prefix + TOUCHPOINTS: TOUCHPOINTS}
    tables = {CALENDAR: {}, TOUCHPOINTS: {}}
    stats = {"records": 0, "tombstones": 0, "key_mismatches": []}
    try:
        partitions = []
        end = {}
        metadata = consumer.list_topics(timeout=10)
        for name in topics:
            if name not in metadata.topics or metadata.topics[name].error is not None:
                raise SystemExit(f"topic {name} not found")
            for p in metadata.topics[name].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)
                if high > low:
                    end[(name, p)] = high
                    partitions.append(TopicPartition(name, p, low))
        consumer.assign(partitions)
        while end:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            topic = topics[msg.topic()]
            key = msg.key().decode("utf-8")
            value = registry.decode(msg.value())
            stats["records"] += 1
            if value is None:
                stats["tombstones"] += 1
                tables[topic].pop(key, None)
            else:
                if expected_key(topic, value) != key:
                    stats["key_mismatches"].append(key)
                tables[topic][key] = jsonable(value)
            at = (msg.topic(), msg.partition())
            if at in end and msg.offset() + 1 >= end[at]:
                del end[at]
    finally:
        consumer.close()
    return tables, stats


def print_calendar(events, out):
    print("== Calendar (per tenant and user, by start)", file=out)
    by_user = defaultdict(list)
    for e in events.values():
        by_user[(e["tenant_id"], e["user_id"] or "(unmapped)")].append(e)
    for (tenant, user), items in sorted(by_user.items()):
        print(f"{tenant} / {user}", file=out)
        for e in sorted(items, key=lambda e: e["starts_at"]):
            starts = dt.datetime.fromtimestamp(e["starts_at"] / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
            who = e["customer_name"] or "-"
            mark = " (cancelled)" if e["status"] == "CANCELLED" else ""
            print(f"  {starts}Z  {e['title'][:40]:<40}  {who}{mark}", file=out)


def print_touchpoints(counts, out):
    print("== Touch-points (per tenant and user: days, total per channel)", file=out)
    totals = defaultdict(lambda: defaultdict(int))
    days = defaultdict(set)
    for c in counts.values():
        who = (c["tenant_id"], c["user_id"] or c["acme_user_id"])
        totals[who][c["channel"]] += c["count"]
        if c["count"] > 0:
            days[who].add(c["day"])
    for who, channels in sorted(totals.items()):
        parts = "  ".join(f"{ch}={n}" for ch, n in sorted(channels.items()))
        print(f"{who[0]} / {who[1]}: {len(days[who])} days  {parts}", file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--registry", default="http://127.0.0.1:8081/apis/ccompat/v7")
    ap.add_argument("--prefix", default="", help="KAFKA_TOPIC_PREFIX of the environment")
    ap.add_argument("--group", default="python-subscriber-example")
    ap.add_argument("--json", help="write the latest-per-key view here")
    args = ap.parse_args()
    tables, stats = read_tables(args.bootstrap, Registry(args.registry), args.prefix, args.group)
    print_calendar(tables[CALENDAR], sys.stdout)
    print_touchpoints(tables[TOUCHPOINTS], sys.stdout)
    print(f"== {stats['records']} records, {stats['tombstones']} tombstones, "
          f"{len(tables[CALENDAR])} events, {len(tables[TOUCHPOINTS])} counts, "
          f"{len(stats['key_mismatches'])} keys not as documented")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"calendar": tables[CALENDAR], "touchpoints": tables[TOUCHPOINTS], "stats": stats}, f, indent=1, sort_keys=True)
    return 1 if stats["key_mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
