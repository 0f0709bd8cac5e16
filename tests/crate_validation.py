"""roc-validator run offline: the RO-Crate JSON-LD context the crate names is served from a real local
HTTP server (the copy the ``rocrate`` package ships) into the validator's own HTTP cache, and the
validator runs in its offline mode on that cache, so nothing is fetched from the network."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import requests
from requests_cache import CachedSession
from rocrate_validator import services
from rocrate_validator.models import Severity, ValidationSettings
from rocrate_validator.utils.http import HttpRequester

from http_fixture import serve_bytes

CONTEXT_URL = "https://w3id.org/ro/crate/1.1/context"


def shipped_context() -> bytes:
    return resources.files("rocrate").joinpath("data/ro-crate.jsonld").read_bytes()


def warm_cache(cache_path: Path) -> None:
    """Put the context into a validator cache at ``cache_path`` under its w3id.org address."""
    with serve_bytes({"/ro/crate/1.1/context": shipped_context()}, content_type="application/ld+json") as (base, _):
        session = CachedSession(cache_name=str(cache_path), backend="sqlite", allowable_methods=("GET",))
        local = session.get(f"{base}/ro/crate/1.1/context", timeout=10)
        local.raise_for_status()
        key = session.cache.create_key(requests.Request("GET", CONTEXT_URL).prepare())
        local.url = CONTEXT_URL
        local.request = requests.Request("GET", CONTEXT_URL).prepare()
        session.cache.save_response(local, cache_key=key)
        session.close()


def validate(crate: Path, profile: str, cache_path: Path, severity: str = "REQUIRED"):
    """The validator's result for ``crate`` (a zip or folder) against ``profile`` at ``severity``."""
    HttpRequester.reset()  # a singleton: start it on this cache, offline
    settings = ValidationSettings(
        rocrate_uri=str(crate),
        profile_identifier=profile,
        requirement_severity=Severity[severity],
        offline=True,
        cache_path=cache_path,
        enable_profile_inheritance=True,
    )
    return services.validate(settings)


def issues(result) -> list[str]:
    return [f"{i.severity.name} {i.check.identifier} {i.message}" for i in result.get_issues()]
