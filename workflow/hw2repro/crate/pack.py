"""Writing the crate: ro-crate-metadata.json plus every listed file, in one zip (deflated; no links,
no absolute paths), written beside the target and renamed into place once complete."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from . import contents, jobs, metadata

METADATA = "ro-crate-metadata.json"


def make_crate(root, out, weights: bool = True) -> Path:
    root = Path(root).resolve()
    if not (root / "config.yaml").is_file():
        raise FileNotFoundError(f"{root}/config.yaml not found: is {root} a finished result root? (make run first)")
    out = Path(out)
    if out.resolve().is_relative_to(root):
        raise ValueError(f"--out {out} lies inside the result root {root}: write the crate elsewhere")
    run_jobs = jobs.run_jobs(root)
    kept, left_out = contents.result_files(root, weights=weights)
    results = [contents.entry(p.relative_to(root).as_posix(), p) for p in kept]
    code = [contents.entry(contents.code_arcname(p), p) for p in contents.code_files(run_jobs)]
    manifests = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted((root / "data").glob("*.json"))}
    graph = metadata.build(root, run_jobs, results, code, left_out, manifests)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(METADATA, json.dumps(graph, indent=2, ensure_ascii=False) + "\n")
        for e in results + code:
            zf.write(e.source, e.arcname)
    os.replace(part, out)
    return out
