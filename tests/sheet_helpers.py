"""Reading the labels of a sample sheet back (tests only): which class name is drawn beside
each row, found by matching the margin's ink against the names rendered independently here."""
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_SIZE = 18   # the size the sheets promise (>= 12 px capitals); rendered here on its own


def ink_box(gray, threshold=128):
    """(top, bottom, left, right) of the pixels darker than `threshold`, or None."""
    ys, xs = np.nonzero(gray < threshold)
    if not len(ys):
        return None
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def rendered(text):
    """uint8 grey ink crop of `text` in Pillow's default font at FONT_SIZE."""
    font = ImageFont.load_default(size=FONT_SIZE)
    image = Image.new("L", (20 * len(text) + 40, 3 * FONT_SIZE), 255)
    ImageDraw.Draw(image).text((10, FONT_SIZE), text, fill=0, font=font)
    gray = np.asarray(image)
    top, bottom, left, right = ink_box(gray)
    return gray[top:bottom, left:right]


def margin_width(sheet, header=0):
    """Columns of the white left margin: up to the first column that is not all white below
    the header (grid cells are never pure white in these tests)."""
    body = np.asarray(sheet)[header:].min(axis=-1)          # [H, W] darkest channel
    # the margin holds text (dark) too: the grid starts where columns stop being mostly white
    white = (body == 255).mean(axis=0) > 0.5
    return int(np.argmin(white)) if not white.all() else body.shape[1]


def row_labels(sheet, rows, candidates, header=0):
    """The candidate drawn beside each of `rows` equal-height rows (best ink match)."""
    sheet = np.asarray(sheet)
    width = margin_width(sheet, header)
    body = sheet[header:, :width].mean(axis=-1)
    height = body.shape[0] // rows
    found = []
    for row in range(rows):
        band = body[row * height:(row + 1) * height]
        box = ink_box(band)
        assert box is not None, f"row {row} has no label in the margin"
        ink = band[box[0]:box[1], box[2]:box[3]]
        scores = {}
        for name in candidates:
            ref = rendered(name)
            if ref.shape == ink.shape:
                scores[name] = np.abs(ref.astype(float) - ink).mean()
        assert scores, f"row {row}: ink {ink.shape} matches no candidate's size"
        found.append(min(scores, key=scores.get))
    return found


def label_heights(sheet, rows, header=0):
    """Ink height of the label of each row, in pixels."""
    sheet = np.asarray(sheet)
    body = sheet[header:, :margin_width(sheet, header)].mean(axis=-1)
    height = body.shape[0] // rows
    return [ink_box(body[r * height:(r + 1) * height])[1] - ink_box(body[r * height:(r + 1) *
            height])[0] for r in range(rows)]
