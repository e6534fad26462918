"""A reader of usage-ledger's Kafka topics in Python, written from the repository's documents alone.

It rebuilds the fleet statistics from ``usage.snapshots`` (the manifest rule, chunk versions) and the
tail of ``usage.records`` (usage records and import batches), merges them with the Go seed's rules,
and prints the statistics snapshot JSON exactly as Go's ``json.Marshal`` writes it. The specification
it follows: packages/snapshots/README.md and packages/wire/README.md.
"""
