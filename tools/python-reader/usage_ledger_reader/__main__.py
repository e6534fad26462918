"""Command line: print the fleet statistics snapshot JSON rebuilt from the topics.

    python -m usage_ledger_reader --bootstrap-servers HOST:PORT [--records-topic usage.records]
        [--snapshots-topic usage.snapshots] [--no-replay] [--report FILE]
    python -m usage_ledger_reader --stream FILE --records-topic T [...]

The JSON goes to standard output (UTF-8, no trailing newline); ``--report`` writes what each partition
was restored from and replayed, and every message skipped as a dead letter, as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from .fleet import Source, rebuild_fleet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="usage_ledger_reader", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--bootstrap-servers", help="Kafka brokers, host:port[,host:port...]")
    where.add_argument("--stream", help="a recorded stream file instead of Kafka (tests)")
    parser.add_argument("--records-topic", default="usage.records")
    parser.add_argument("--snapshots-topic", default="usage.snapshots")
    parser.add_argument("--no-replay", action="store_true", help="the state of the newest generations only (no records after them)")
    parser.add_argument("--report", help="write a JSON report of the restore and replay to this file")
    args = parser.parse_args(argv)

    source: Source
    if args.stream is not None:
        from .stream_file import StreamFileSource

        source = StreamFileSource(args.stream)
        result = rebuild_fleet(source, args.records_topic, replay=not args.no_replay)
    else:
        from .kafka_source import KafkaSource

        kafka = KafkaSource(args.bootstrap_servers, args.records_topic, args.snapshots_topic)
        try:
            result = rebuild_fleet(kafka, args.records_topic, replay=not args.no_replay)
        finally:
            kafka.close()
    if args.report is not None:
        report = {"partitions": [asdict(partition) for partition in result.partitions], "totals": list(result.fleet.totals())}
        with open(args.report, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
    sys.stdout.buffer.write(result.fleet.snapshot_json().encode("utf-8"))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
