"""`tsrgate export` and `tsrgate debug int8`: deployment files of a model, and where INT8 loses accuracy."""

from __future__ import annotations

from pathlib import Path

import click

from gate.cli.options import threads_option


def _int8_options(command):
    """Options that decide the Q/DQ export (shared by `export` and `debug int8`)."""
    options = [
        click.option("--opset", type=int, default=17, show_default=True, help="ONNX opset of the fp32 export."),
        click.option("--batch", type=int, default=1, show_default=True, help="Fixed batch dimension of the graph."),
        click.option("--calibration-images", type=int, default=32, show_default=True,
                     help="INT8: images drawn (seeded) from the training data for calibration."),
        click.option("--calibration-method", type=click.Choice(["entropy", "max"]), default="max",
                     show_default=True, help="INT8: how activation ranges are chosen."),
        click.option("--high-precision-dtype", type=click.Choice(["fp32", "fp16"]), default="fp32", show_default=True,
                     help="INT8: precision of everything not quantized (fp16 collapsed a trained RT-DETR's AP)."),
        click.option("--calibration-data", type=click.Path(path_type=Path), default=None,
                     help="INT8: calibrate on this dataset folder instead of the model's training data."),
        click.option("--seed", type=int, default=0, show_default=True, help="INT8: seed of the calibration sample."),
        click.option("--quantize-op-types", default="Conv", show_default=True,
                     help="INT8: comma-separated ONNX op types that get Q/DQ, or 'all' (every type Model Optimizer "
                          "supports)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(fmt: str, opset, batch, calibration_images, calibration_method, high_precision_dtype,
              calibration_data, seed, quantize_op_types="Conv"):
    from gate.backends.exports import settings_for

    onnx = {"opset": opset, "batch": batch}
    if fmt == "onnx":
        return settings_for("onnx", onnx)
    return settings_for("int8", {
        "onnx": onnx, "calibration_images": calibration_images, "calibration_method": calibration_method,
        "high_precision_dtype": high_precision_dtype, "seed": seed,
        "calibration_data": None if calibration_data is None else str(calibration_data),
        "quantize_op_types": [] if quantize_op_types.strip().lower() == "all"
        else [t.strip() for t in quantize_op_types.split(",") if t.strip()],
    })


@click.command()
@click.argument("model_dir", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["onnx", "int8"]), required=True, help="Export format.")
@_int8_options
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Export folder (default: the cache, $TSRGATE_CACHE/exports/<weights sha256>/...).")
@click.option("--force", is_flag=True, help="Rebuild even when an intact export exists; replace --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the export record as JSON.")
def export(model_dir, fmt, opset, batch, calibration_images, calibration_method, high_precision_dtype,
           calibration_data, seed, quantize_op_types, out, force, as_json) -> None:
    """Export MODEL to ONNX (fp32) or INT8 (Model Optimizer Q/DQ ONNX); reuse an intact cached export."""
    from gate.backends.exporter import ensure_export

    settings = _settings(fmt, opset, batch, calibration_images, calibration_method, high_precision_dtype,
                         calibration_data, seed, quantize_op_types)
    record = ensure_export(model_dir, fmt, settings, out=out, force=force)
    if as_json:
        click.echo(record.model_dump_json(indent=2))
        return
    click.echo(f"{record.path}")
    click.echo(f"  {record.format} export of {record.model_name}: sha256 {record.sha256}, {record.bytes} bytes, "
               f"opset {record.opset}")
    click.echo(f"  exporter: {record.exporter}")
    if record.parity:
        click.echo("  export-time parity with torch (max abs diff): "
                   + ", ".join(f"{k} {v:.2e}" for k, v in record.parity.items()))
    if record.calibration is not None:
        cal = record.calibration
        click.echo(f"  calibration: {len(cal.image_ids)} images of {cal.available_images} ({cal.split}) from "
                   f"{cal.dataset_path}, seed {cal.seed}, tensor {cal.tensor_shape} sha256 {cal.tensor_sha256[:16]}")
        click.echo(f"  Q/DQ nodes: {record.qdq_nodes}")


@click.group()
def debug() -> None:
    """Debugging aids for deployment forms."""


@debug.command("int8")
@click.argument("model_dir", metavar="MODEL", type=click.Path(path_type=Path))
@_int8_options
@click.option("--images", type=int, default=4, show_default=True, help="Real images to compare on.")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Dataset whose first images are used (default: the training data's validation split).")
@click.option("--top", type=int, default=15, show_default=True, help="Layers to list.")
@threads_option()
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the full report as JSON.")
def debug_int8(model_dir, opset, batch, calibration_images, calibration_method, high_precision_dtype,
               calibration_data, seed, quantize_op_types, images, data, top, threads, out) -> None:
    """Compare fp32 and Q/DQ intermediate tensors of MODEL layer by layer; list where the error grows most."""
    from gate.backends.base import default_threads
    from gate.backends.int8_debug import compare_int8_layers, format_layer_table
    from gate.errors import InputError
    from gate.storage import atomic_write_json

    if images < 1:
        raise InputError(f"--images: expected at least 1, got {images}")
    settings = _settings("int8", opset, batch, calibration_images, calibration_method, high_precision_dtype,
                         calibration_data, seed, quantize_op_types)
    report = compare_int8_layers(model_dir, settings, data=data, images=images, top=top,
                                 threads=threads or default_threads())
    click.echo(f"{report.model_name}: fp32 {report.fp32_onnx_sha256[:12]} vs int8 {report.int8_onnx_sha256[:12]} "
               f"({report.int8_settings['high_precision_dtype']} high precision) on {len(report.image_ids)} images, "
               f"{report.compared_tensors} tensors compared")
    click.echo("output relative error: " + ", ".join(
        f"{k} {'n/a' if v is None else f'{v:.4f}'}" for k, v in report.output_errors.items()))
    click.echo("layers adding the most error (keep these in higher precision first):")
    for row in format_layer_table(report.largest_growth):
        click.echo(f"  {row}")
    if out is not None:
        atomic_write_json(out, report.model_dump(mode="json"))
        click.echo(f"wrote {out}")


COMMANDS = [export, debug]
