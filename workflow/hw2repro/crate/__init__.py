"""A finished result root as a Workflow Run RO-Crate (https://w3id.org/ro/wfrun/provenance/0.5): one zip a
recipient can archive, validate (roc-validator) and compare against their own run (make compare A=x.crate.zip).

``jobs`` finds what ran (benchmarks/, logs/ and the workflow's DAG), ``contents`` what goes in,
``metadata`` writes ro-crate-metadata.json, ``pack`` the zip, ``unpack`` reads one back safely."""
