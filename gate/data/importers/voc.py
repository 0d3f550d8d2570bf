"""Pascal VOC folders: `Annotations/*.xml` beside `JPEGImages/`.

VOC pixel coordinates are 1-based and inclusive, so a box covers [xmin - 1, xmax) in COCO's
continuous coordinates: bbox = [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]. Exports that
write 0-based corners at the image border would then start at -1; such boxes are clipped to the
image (at most one pixel), anything further outside is an error. `difficult` objects become ignore
regions (iscrowd=1, ignore=true); `truncated` and `occluded` flags go to the box attributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from gate.data.coco import CocoDataset
from gate.data.importers.builder import CocoBuilder, at_line, image_size, read_text_file
from gate.errors import InputError

ANNOTATIONS_DIR = "Annotations"
IMAGES_DIR = "JPEGImages"
BORDER_SLACK_PX = 1.0  # how far a box may stick out of the image before it is an error


@dataclass
class XmlElement:
    """An XML element that remembers the line it starts on (ElementTree forgets it)."""

    tag: str
    line: int
    text: str = ""
    children: list[XmlElement] = field(default_factory=list)

    def find(self, tag: str) -> XmlElement | None:
        return next((child for child in self.children if child.tag == tag), None)

    def findall(self, tag: str) -> list[XmlElement]:
        return [child for child in self.children if child.tag == tag]


def parse_xml(path: Path) -> XmlElement:
    """Parse an XML file into `XmlElement`s; malformed XML is an `InputError` at `file:LINE`."""
    parser = expat.ParserCreate()
    stack: list[XmlElement] = []
    roots: list[XmlElement] = []

    def start(tag: str, _attrs: dict) -> None:
        element = XmlElement(tag, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        element = stack.pop()
        element.text = element.text.strip()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(path.read_bytes(), True)
    except expat.ExpatError as exc:
        raise InputError(f"not valid XML ({expat.ErrorString(exc.code)})", path=at_line(path, exc.lineno)) from None
    return roots[0]


def _required(parent: XmlElement, tag: str, path: Path) -> XmlElement:
    child = parent.find(tag)
    if child is None or not (child.text or child.children):
        raise InputError(f"<{parent.tag}> has no <{tag}>", path=at_line(path, parent.line))
    return child


def _number(parent: XmlElement, tag: str, path: Path) -> float:
    child = _required(parent, tag, path)
    try:
        value = float(child.text)
    except ValueError:
        raise InputError(f"<{tag}> must be a number, got {child.text!r}", path=at_line(path, child.line)) from None
    if not math.isfinite(value):
        raise InputError(f"<{tag}> must be a finite number, got {child.text!r}", path=at_line(path, child.line))
    return value


def _flag(parent: XmlElement, tag: str, path: Path) -> bool | None:
    child = parent.find(tag)
    if child is None or not child.text:
        return None
    if child.text not in ("0", "1"):
        raise InputError(f"<{tag}> must be 0 or 1, got {child.text!r}", path=at_line(path, child.line))
    return child.text == "1"


def read_class_names(path: Path) -> list[str]:
    """One class name per line (blank lines and `#` comments skipped); duplicates are an error."""
    if not path.is_file():
        raise InputError("class-names file not found", path=path)
    names: list[str] = []
    for number, raw in enumerate(read_text_file(path).splitlines(), start=1):
        name = raw.strip()
        if not name or name.startswith("#"):
            continue
        if name in names:
            raise InputError(f"class {name!r} is listed twice", path=at_line(path, number))
        names.append(name)
    if not names:
        raise InputError("no class names in file", path=path)
    return names


def convert(src: Path, builder: CocoBuilder, classes_file: Path | None = None) -> CocoDataset:
    """Import a VOC folder; class ids follow the classes file, else the sorted names found in the XML."""
    xml_dir = src / ANNOTATIONS_DIR
    if not xml_dir.is_dir():
        raise InputError(f"no {ANNOTATIONS_DIR}/ folder (expected Pascal VOC layout)", path=src)
    xml_files = sorted(xml_dir.glob("*.xml"))
    if not xml_files:
        raise InputError("no .xml files", path=xml_dir)
    documents = [(path, parse_xml(path)) for path in xml_files]
    for path, root in documents:
        if root.tag != "annotation":
            raise InputError(f"root element is <{root.tag}>, expected <annotation>", path=at_line(path, root.line))

    if classes_file is not None:
        names = read_class_names(classes_file)
    else:
        names = sorted(
            {_required(obj, "name", path).text for path, root in documents for obj in root.findall("object")}
        )
    category_ids = {name: builder.add_category(name) for name in names}

    for path, root in documents:
        file_node = _required(root, "filename", path)
        image_path = src / IMAGES_DIR / file_node.text
        where = at_line(path, file_node.line)
        if not image_path.is_file():
            raise InputError(f"image {IMAGES_DIR}/{file_node.text} not found", path=where)
        width, height = image_size(image_path)
        size_node = root.find("size")
        if size_node is not None and size_node.find("width") is not None:
            declared = (int(_number(size_node, "width", path)), int(_number(size_node, "height", path)))
            # Some exporters write 0x0 when they did not know the size; the file then decides.
            if declared != (0, 0) and declared != (width, height):
                raise InputError(
                    f"<size> says {declared[0]}x{declared[1]} but {IMAGES_DIR}/{file_node.text} is {width}x{height}",
                    path=at_line(path, size_node.line),
                )
        image_id = builder.copy_image(file_node.text, image_path, width, height, where=where)

        for obj in root.findall("object"):
            name_node = _required(obj, "name", path)
            if name_node.text not in category_ids:
                raise InputError(
                    f"class {name_node.text!r} is not in the classes file {classes_file}",
                    path=at_line(path, name_node.line),
                )
            box = _required(obj, "bndbox", path)
            box_where = at_line(path, box.line)
            xmin, ymin, xmax, ymax = (_number(box, tag, path) for tag in ("xmin", "ymin", "xmax", "ymax"))
            if xmax < xmin or ymax < ymin:
                raise InputError(
                    f"box has negative size (xmin={xmin} xmax={xmax} ymin={ymin} ymax={ymax})", path=box_where
                )
            x0, y0, x1, y1 = xmin - 1, ymin - 1, xmax, ymax
            slack = BORDER_SLACK_PX
            if x0 < -slack or y0 < -slack or x1 > width + slack or y1 > height + slack:
                raise InputError(
                    f"box ({xmin},{ymin})-({xmax},{ymax}) lies outside the {width}x{height} image", path=box_where
                )
            x0, y0, x1, y1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(width)), min(y1, float(height))
            attributes = {}
            for flag in ("truncated", "occluded"):
                value = _flag(obj, flag, path)
                if value is not None:
                    attributes[flag] = 1.0 if value else 0.0
            difficult = bool(_flag(obj, "difficult", path))
            bbox = (x0, y0, x1 - x0, y1 - y0)
            builder.add_annotation(
                image_id, category_ids[name_node.text], bbox, ignore=difficult, attributes=attributes
            )
    return builder.build(
        info={
            "description": "imported from a Pascal VOC folder",
            "source_format": "voc",
            "box_convention": (
                "bbox = [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]; difficult -> ignore region"
            ),
        }
    )
