"""Versioned, hash-locked scenario suites.

- `load_spec` / `SuiteSpec`: the YAML spec (spec.py);
- `build_suite`: render a spec into the cache and seal its manifest into suites/<name>/<version>/;
- `open_suite` -> `ResolvedSuite`: verified images, COCO annotations and the evaluation taxonomy
  (what `tsrgate run` and every later stage use);
- `verify_suite`, `list_suites`, `find_suite`; `write_contact_sheet` for people to look at a suite.
"""

from gate.suites.build import BuildReport, build_suite
from gate.suites.catalog import SuiteListing, find_suite, list_suites
from gate.suites.manifest import SuiteManifest, load_manifest, pixels_sha256
from gate.suites.resolved import ResolvedSuite, open_suite
from gate.suites.spec import LoadedSpec, SuiteSpec, load_spec
from gate.suites.taxonomy import EvaluationTaxonomy
from gate.suites.verify import SuiteVerification, verify_suite

__all__ = [
    "BuildReport",
    "EvaluationTaxonomy",
    "LoadedSpec",
    "ResolvedSuite",
    "SuiteListing",
    "SuiteManifest",
    "SuiteSpec",
    "SuiteVerification",
    "build_suite",
    "find_suite",
    "list_suites",
    "load_manifest",
    "load_spec",
    "open_suite",
    "pixels_sha256",
    "verify_suite",
]
