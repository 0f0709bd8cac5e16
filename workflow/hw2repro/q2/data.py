"""Rule octmnist_data: the configured OCTMNIST source (synthetic, a user's file, or the download),
validated and written to ``results/data/octmnist.npz`` with a metadata file beside it."""

from __future__ import annotations

from pathlib import Path

from .. import download
from ..io import file_digest, write_json
from ..labels import NOT_CANONICAL
from . import synthetic
from .octmnist import (
    MANUAL_HINT,
    MD5,
    DataError,
    describe,
    load_npz,
    require_all_classes,
    save_npz,
    validate,
)


def prepare(cfg: dict, out_npz: str | Path, out_meta: str | Path, download_dir: str | Path, log=print) -> None:
    """Write the configured OCTMNIST (synthetic, a user's file, or the download) to ``out_npz``.

    The metadata says ``canonical`` / ``comparable``: true only for the published file (its MD5),
    whichever source brought it."""
    source = cfg["source"]
    meta: dict = {"source": source, "synthetic": source == "synthetic", "canonical": False}
    if source == "synthetic":
        params = cfg["synthetic"]
        log(f"drawing SYNTHETIC OCT-like images with {params}")
        arrays = synthetic.generate(**params)
        meta["generator"] = params
        meta["label"] = "SYNTHETIC OCT-like images drawn by this pipeline - not OCTMNIST"
    else:
        if source == "file":
            path = Path(cfg["path"])
            meta["label"] = f"OCTMNIST from a local file ({path})"
        elif source == "download":
            path = download.fetch(
                cfg["url"],
                Path(download_dir) / "octmnist.npz",
                size=cfg["size"],
                md5=cfg["md5"],
                manual_hint=MANUAL_HINT,
                log=log,
            )
            meta["label"] = "OCTMNIST (MedMNIST v3, CC BY 4.0), downloaded and MD5-verified"
        else:
            raise DataError(f"data.octmnist.source must be synthetic, file or download, got {source!r}")
        arrays = load_npz(path)
        require_all_classes(arrays, str(path))
        meta["origin"] = str(path)
        meta["md5"] = file_digest(path, "md5")
        meta["canonical"] = meta["md5"] == MD5
        if not meta["canonical"]:
            meta["label"] += f" - {NOT_CANONICAL} (MD5 {meta['md5']}, the published file's is {MD5})"
    meta["comparable"] = meta["canonical"]
    validate(arrays, str(out_npz))
    meta["splits"] = describe(arrays)
    save_npz(arrays, out_npz)
    write_json(out_meta, meta)
    log(f"wrote {out_npz}: " + ", ".join(f"{s} {v['n']}" for s, v in meta["splits"].items()))
