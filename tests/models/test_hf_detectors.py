"""Any Hugging Face DETR-style detector through tsrgate equals transformers' own pipeline.

Two architectures beyond RT-DETR, one of each head kind, built from config without weights (seeded
random initialisation): D-FINE (sigmoid/focal head) and YOLOS (softmax head with a no-object class).
Each is saved with `save_pretrained`, ingested with `tsrgate ingest` as family `detr`, and run by
tsrgate's torch and onnx backends on real images of the shipped `rare` suite. transformers' image
processor, the same runtime's raw outputs and transformers' `post_process_object_detection` give the
expected detections; tsrgate's must match: boxes within 1e-3 px, same scores and labels.
A third test exports YOLOS with its postprocessing inside the graph (boxes, scores, labels) and
ingests it as `boxes_scores_labels`, with the same equivalence.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from gate.backends import create_backend
from gate.models.ingest import ingest_model
from tests.backends.exported import use_private_cache
from tests.models.shapes import SHAPE_CLASSES

IMAGES = 5
THRESHOLD = 0.0  # keep everything the decoders keep, so the whole ranking is compared
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def _labels():
    return {"id2label": dict(enumerate(SHAPE_CLASSES)), "label2id": {n: i for i, n in enumerate(SHAPE_CLASSES)}}


def _dfine():
    from transformers import DFineConfig, HGNetV2Config, RTDetrImageProcessorPil

    backbone = HGNetV2Config(
        embedding_size=16, depths=[1, 1, 1, 1], hidden_sizes=[32, 64, 96, 128], stem_channels=[3, 8, 16],
        stage_in_channels=[16, 32, 64, 96], stage_mid_channels=[8, 16, 32, 48], stage_out_channels=[32, 64, 96, 128],
        stage_num_blocks=[1, 1, 1, 1], stage_numb_of_layers=[2, 2, 2, 2], out_features=["stage2", "stage3", "stage4"])
    config = DFineConfig(
        backbone_config=backbone, encoder_in_channels=[64, 96, 128], encoder_hidden_dim=32, encoder_ffn_dim=64,
        encoder_attention_heads=2, d_model=32, decoder_in_channels=[32, 32, 32], decoder_ffn_dim=64,
        decoder_attention_heads=2, decoder_layers=2, num_queries=30, num_denoising=0, hidden_expansion=0.5,
        depth_mult=0.34, lqe_hidden_dim=16, anchor_image_size=[128, 128], freeze_backbone_batch_norms=False,
        **_labels())
    processor = RTDetrImageProcessorPil(size={"height": 128, "width": 128})
    preprocessing = {"input_size": [128, 128], "resize": "stretch", "interpolation": "bilinear"}
    return config, processor, preprocessing, "sigmoid", 30, {"use_focal_loss": True}


def _yolos():
    from transformers import YolosConfig, YolosImageProcessorPil

    config = YolosConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                         image_size=[160, 256], patch_size=32, num_detection_tokens=10, **_labels())
    processor = YolosImageProcessorPil(size={"height": 160, "width": 256}, do_pad=False)
    preprocessing = {"input_size": [160, 256], "resize": "stretch", "interpolation": "bilinear",
                     "normalize": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD}}
    assert list(processor.image_mean) == IMAGENET_MEAN and list(processor.image_std) == IMAGENET_STD
    return config, processor, preprocessing, "softmax", 10, {}


ARCHITECTURES = {"d_fine": _dfine, "yolos": _yolos}


@pytest.fixture(scope="module")
def suite_images():
    from gate.suites import open_suite

    images = []
    for loaded in open_suite("rare").iter_images():
        images.append((loaded.info.id, loaded.pixels))
        if len(images) == IMAGES:
            break
    return images


def _card(name: str, preprocessing: dict, activation: str, top_k: int, family: str = "detr", outputs=None) -> dict:
    return {
        "name": name,
        "architecture": {"family": family, "outputs": outputs or {"layout": "detr", "score_activation": activation}},
        "class_names": list(SHAPE_CLASSES),
        "preprocessing": preprocessing,
        "postprocessing": {"score_threshold": THRESHOLD, "top_k": top_k, "clip_boxes": False},
    }


def _hf_model(kind: str, root):
    """A seeded, randomly initialised transformers detector saved with save_pretrained, ingested into tsrgate."""
    import torch
    from transformers import AutoModelForObjectDetection

    config, processor, preprocessing, activation, top_k, post_options = ARCHITECTURES[kind]()
    torch.manual_seed(0)
    model = AutoModelForObjectDetection.from_config(config).eval()
    model.save_pretrained(root / f"{kind}-hf")
    card = root / f"{kind}-card.json"
    card.write_text(json.dumps(_card(kind, preprocessing, activation, top_k)))
    ingest_model(root / f"{kind}-hf", card, root / kind)
    return model, processor, preprocessing, activation, top_k, post_options


def _expected(processor, forward, images, post_options):
    """transformers' pipeline: image processor -> forward -> post_process_object_detection, per image."""
    import torch

    expected = []
    for _, pixels in images:
        inputs = processor(images=pixels, return_tensors="pt")
        logits, boxes = forward(inputs["pixel_values"])
        outputs = SimpleNamespace(logits=torch.as_tensor(logits), pred_boxes=torch.as_tensor(boxes))
        [result] = processor.post_process_object_detection(
            outputs, threshold=THRESHOLD, target_sizes=[pixels.shape[:2]], **post_options)
        expected.append({k: v.detach().numpy() for k, v in result.items()})
    return expected


def _assert_same(dets, expected):
    for got, want in zip(dets, expected, strict=True):
        order = np.argsort(-want["scores"], kind="stable")
        assert len(got) == len(order) > 0
        np.testing.assert_array_equal(got.labels, want["labels"][order])
        np.testing.assert_allclose(got.scores, want["scores"][order], rtol=0, atol=1e-6)
        assert np.abs(got.boxes - want["boxes"][order]).max() <= 1e-3


def _tsrgate(backend_name: str, model_dir, images):
    with create_backend(backend_name, model_dir, threads=1) as backend:
        return backend.infer([p for _, p in images], [i for i, _ in images]), backend


@pytest.mark.parametrize("kind", list(ARCHITECTURES))
def test_hf_detector_through_tsrgate_equals_transformers(kind, suite_images, tmp_path, monkeypatch,
                                                         tmp_path_factory):
    import onnxruntime as ort
    import torch

    use_private_cache(monkeypatch, tmp_path_factory)
    model, processor, _, _, _, post_options = _hf_model(kind, tmp_path)

    def torch_forward(pixel_values):
        with torch.no_grad():
            out = model(pixel_values=pixel_values)
        return out.logits, out.pred_boxes

    dets, _ = _tsrgate("torch", tmp_path / kind, suite_images)
    _assert_same(dets, _expected(processor, torch_forward, suite_images, post_options))

    dets, backend = _tsrgate("onnx", tmp_path / kind, suite_images)
    session = ort.InferenceSession(str(backend.export_record.path), providers=["CPUExecutionProvider"])

    def onnx_forward(pixel_values):
        logits, boxes = session.run(["logits", "pred_boxes"], {"pixel_values": pixel_values.numpy()})
        return logits, boxes

    _assert_same(dets, _expected(processor, onnx_forward, suite_images, post_options))


def test_in_graph_postprocessing_export_ingested_as_boxes_scores_labels(suite_images, tmp_path):
    """YOLOS exported with transformers' post-processing in the graph: the common end-to-end deployment form."""
    import warnings

    import torch

    model, processor, preprocessing, _, _, post_options = _hf_model("yolos", tmp_path)

    class EndToEnd(torch.nn.Module):
        def __init__(self, detector):
            super().__init__()
            self.detector = detector

        def forward(self, pixel_values):
            out = self.detector(pixel_values=pixel_values)
            scores, labels = out.logits.softmax(-1)[..., :-1].max(-1)
            cx, cy, w, h = out.pred_boxes.unbind(-1)
            boxes = torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], -1)
            return boxes, scores, labels

    onnx_file = tmp_path / "yolos-e2e.onnx"
    sample = torch.rand(1, 3, *preprocessing["input_size"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(EndToEnd(model).eval(), (sample,), str(onnx_file), dynamo=False, opset_version=17,
                          input_names=["pixel_values"], output_names=["boxes", "scores", "labels"])
    outputs = {"layout": "boxes_scores_labels", "boxes": "boxes", "scores": "scores", "labels": "labels",
               "box_units": "normalized"}
    card = tmp_path / "e2e-card.json"
    card.write_text(json.dumps(_card("yolos-e2e", preprocessing, "softmax", 10, family="boxes_scores_labels",
                                     outputs=outputs)))
    ingest_model(onnx_file, card, tmp_path / "yolos-e2e")

    def torch_forward(pixel_values):
        with torch.no_grad():
            out = model(pixel_values=pixel_values)
        return out.logits, out.pred_boxes

    dets, _ = _tsrgate("onnx", tmp_path / "yolos-e2e", suite_images)
    _assert_same(dets, _expected(processor, torch_forward, suite_images, post_options))
