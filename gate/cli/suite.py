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
    """
    from gate.suites.build import build_suite
    from gate.suites.catalog import find_suite
    from gate.suites.manifest import SPEC_FILE

    spec_path = Path(spec)
    if not spec_path.exists() and "/" not in spec and not spec.endswith((".yaml", ".yml")):
        spec_path = find_suite(spec, suites=suites_dir) / SPEC_FILE

    def progress(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            click.echo(f"  rendered {done}/{total}", err=True)

    report = build_suite(spec_path, data=data, cache=cache, suites=suites_dir, progress=progress,
                         announce=lambda text: click.echo(text, err=True))
    state = "unchanged (rebuilt, identical content)" if report.unchanged else "written"
    click.echo(f"suite {report.name} v{report.version}: {report.images} images, {report.boxes} boxes, "
               f"{report.ignore_regions} ignore regions, {report.rendered} rendered")
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
