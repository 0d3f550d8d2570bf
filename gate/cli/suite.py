"""`tsrgate suite ...`: build, verify, list and look at scenario suites."""

from __future__ import annotations

from pathlib import Path

import click

from gate.cli.options import cache_option, data_option, suites_dir_option
from gate.errors import EXIT_FINDINGS

@click.group()
def suite() -> None:
    """Versioned, hash-locked scenario suites (clean, night, rain, fog, occlusion, small, rare, region packs)."""


@suite.command("build")
@click.argument("spec")
@data_option
@cache_option
@suites_dir_option
def build_command(spec: str, data: Path | None, cache: Path | None, suites_dir: Path | None) -> None:
    """Render SPEC and write suites/<name>/<version>/{spec.yaml,manifest.json}.

    SPEC is a suite spec YAML file, or the name of a suite whose latest spec.yaml is rebuilt.
    The spec format, with a complete worked region pack (dataset, seeded split, taxonomy mapping
    file, ignore regions, a second suites folder), is in README.md, section "Building a region pack".
    """
    from gate.suites.build import build_suite
    from gate.suites.catalog import find_suite
    from gate.suites.manifest import SPEC_FILE

    spec_path = Path(spec)
    if not spec_path.exists() and "/" not in spec and not spec.endswith((".yaml", ".yml")):
        spec_path = find_suite(spec, suites=suites_dir) / SPEC_FILE

    def progress(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            click.echo(f"  images prepared {done}/{total}", err=True)

    report = build_suite(spec_path, data=data, cache=cache, suites=suites_dir, progress=progress,
                         announce=lambda text: click.echo(text, err=True))
    state = "unchanged (rebuilt, identical content)" if report.unchanged else "written"
    served = (f"{report.rendered} rendered into the cache" if report.rendered
              else "no transforms: images are read from the source as they are")
    click.echo(f"suite {report.name} v{report.version}: {report.images} images, {report.boxes} boxes, "
               f"{report.ignore_regions} ignore regions; {served}")
    click.echo(f"manifest {report.manifest_path} {state}, sha256 {report.manifest_sha256}")
    click.echo(f"rendered images in {report.render_dir}")


@suite.command("verify")
@click.argument("name")
@click.option("--version", "version", help="Suite version (default: the latest).")
@data_option
@click.option("--rerender", is_flag=True, help="Render every image again and compare (proves reproducibility here).")
@cache_option
@suites_dir_option
def verify_command(name: str, version: str | None, data: Path | None, rerender: bool, cache: Path | None,
                   suites_dir: Path | None) -> None:
    """Recompute every hash of suite NAME (manifest, spec, source and rendered images); exit 1 on any mismatch."""
    from gate.suites.verify import verify_suite

    report = verify_suite(name, version, cache=cache, suites=suites_dir, data=data, rerender=rerender,
                          announce=lambda text: click.echo(text, err=True))
    for finding in report.findings:
        click.echo(finding.line())
    verdict = "OK" if report.ok else f"FAILED ({len(report.findings)} mismatches)"
    click.echo(f"suite {report.name} v{report.version}: {report.images_checked} images, "
               f"{report.rendered_checked} rendered files checked, {report.re_rendered} re-rendered: {verdict}")
    click.echo(f"manifest sha256 {report.manifest_sha256}")
    if not report.ok:
        click.get_current_context().exit(EXIT_FINDINGS)


@suite.command("export")
@click.argument("name")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder to write (images, ids, contract).")
@click.option("--version", "version", help="Suite version (default: the latest).")
@click.option("--force", is_flag=True, help="Replace an existing export folder.")
@data_option
@cache_option
@suites_dir_option
def export_command(name: str, out: Path, version: str | None, force: bool, data: Path | None, cache: Path | None,
                   suites_dir: Path | None) -> None:
    """Write suite NAME's exact images, their ids and the detections contract, for a pipeline tsrgate cannot run."""
    from gate.suites.export import export_suite
    from gate.suites.resolved import open_suite

    resolved = open_suite(name, version, cache=cache, suites=suites_dir, data=data,
                          announce=lambda text: click.echo(text, err=True))
    export = export_suite(resolved, out, force=force)
    click.echo(f"suite {export.suite} v{export.version}: {len(export.images)} images written to {out}")
    click.echo(f"manifest sha256 {export.suite_manifest_sha256}")


@suite.command("list")
@cache_option
@suites_dir_option
def list_command(cache: Path | None, suites_dir: Path | None) -> None:
    """Show every suite version: counts, transforms, and whether its source and rendered images are here."""
    from gate.suites.catalog import list_suites

    listings = list_suites(suites_dir, cache)
    if not listings:
        click.echo("no suites found")
        return
    click.echo(f"{'suite':<18} {'ver':>3} {'images':>6} {'boxes':>6} {'ignored':>7}  {'transforms':<14} "
               f"{'source':<8} {'cached':<9} manifest")
    for s in listings:
        if s.status != "built":
            click.echo(f"{s.name:<18} {s.version:>3}  {s.status}")
            continue
        source = "present" if s.source_present else "absent"
        cached = f"{s.rendered_cached}/{s.rendered_needed}" if s.rendered_needed else "n/a"
        click.echo(f"{s.name:<18} {s.version:>3} {s.images:>6} {s.boxes:>6} {s.ignore_regions:>7}  "
                   f"{','.join(s.transforms) or '-':<14} {source:<8} {cached:<9} {s.manifest_sha256[:12]}")


@suite.command("show")
@click.argument("name")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Contact sheet file: .png or .html.")
@click.option("--version", "version", help="Suite version (default: the latest).")
@click.option("--count", default=24, show_default=True, type=click.IntRange(1, 400), help="Images on the sheet.")
@click.option("--columns", default=4, show_default=True, type=click.IntRange(1, 20))
@click.option("--width", default=360, show_default=True, type=click.IntRange(64, 2000), help="Tile width in px.")
@click.option("--drive", help="Sequence suites: show this drive's frames in order (e.g. d0003).")
@data_option
@cache_option
@suites_dir_option
def show_command(name: str, out: Path, version: str | None, count: int, columns: int, width: int, data: Path | None,
                 drive: str | None, cache: Path | None, suites_dir: Path | None) -> None:
    """Write a contact sheet of suite NAME: rendered images with boxes drawn and sign crops."""
    from gate.suites.resolved import open_suite
    from gate.suites.sheet import write_contact_sheet

    resolved = open_suite(name, version, cache=cache, suites=suites_dir, data=data,
                          announce=lambda text: click.echo(text, err=True))
    write_contact_sheet(resolved, out, count=count, columns=columns, width=width, drive=drive)
    click.echo(f"contact sheet of {resolved.name} v{resolved.version} ({min(count, len(resolved))} images) -> {out}")


COMMANDS = [suite]


@suite.command("power")
@click.argument("name")
@click.option("--model", "model", required=True,
              help="The model's results folder (tsrgate run --out) or a baseline line name, holding SUITE on torch.")
@click.option("--baseline", "baseline", default=None,
              help="Results folder or line to pair with (the SE a compare against it would see); "
                   "without it, sqrt(2) x the model's own SE.")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None, help="Policy file (default policy).")
@click.option("--family-size", type=click.IntRange(min=1), default=None,
              help="Size of the compare's test family (a verdict's multiplicity.family_size); default: this suite's tests.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None, help="Also write the table as JSON.")
def power_command(name: str, model: str, baseline: str | None, policy_path: Path | None, family_size: int | None,
                  json_out: Path | None) -> None:
    """Per rule and class on suite NAME: the minimum detectable change (MDC) and the images needed.

    A rule whose MDC is larger than its allowed change cannot detect a regression of the allowed size;
    the images needed are what the suite would need for the MDC to shrink to the allowed change.
    """
    from gate.compare.power import suite_power
    from gate.compare.results_records import torch_records
    from gate.policy import load_policy
    from gate.storage import atomic_write_json

    policy, _ = load_policy(policy_path)
    records, threshold, label = torch_records(model, name)
    base = torch_records(baseline, name) if baseline else None
    result = suite_power(policy, name, records, threshold, baseline=base[0] if base else None,
                         baseline_threshold=base[1] if base else None, family_size=family_size,
                         baseline_name=base[2] if base else "")
    click.echo(f"suite {name}: {result.images} images; model {label}, {result.paired_with}")
    click.echo(f"{result.method} over a family of {result.family_size} at alpha {result.alpha:g} "
               f"(per-test {result.per_test_alpha:.2g}), power {result.power:.0%}")
    click.echo(f"{'rule':<22} {'scope':<30} {'gt':>5} {'allowed':>8} {'SE':>7} {'MDC':>7} {'caught at':>9} "
               f"{'images needed':>13}")
    for row in result.rows:
        flag = "" if row.detectable else "  cannot detect"
        needed = "-" if row.images_needed is None else str(row.images_needed)
        click.echo(f"{row.rule_id:<22} {row.scope[:30]:<30} {row.support if row.support is not None else '-':>5} "
                   f"{row.allowed_change:>8.3f} {row.se:>7.4f} {row.mdc:>7.3f} {row.caught_at:>9.3f} {needed:>13}{flag}")
    blind = sum(1 for r in result.rows if not r.detectable)
    click.echo(f"{blind} of {len(result.rows)} rule scopes cannot detect their allowed change on {result.images} images")
    if json_out is not None:
        atomic_write_json(json_out, result.model_dump(mode="json"))
