#!/usr/bin/python3
"""Checks a screenshot of a `poolrun report` picture.

    check_png.py PNG [--varied] [X,Y,SPEC]...

--varied: the picture is not one colour (at least 5 colours, none on more
than 99% of it).  X,Y,SPEC: the 7x7 pixels around (X, Y) are mostly SPEC,
where SPEC is #RRGGBB (at least 60% of them within 40 of it in each
channel), #RRGGBB/hatch (at least 15% of that colour and 15% white: a
retried attempt's hatching) or white.  Prints what does not hold and exits
1; exits 0 when all holds.
"""
import sys

from PIL import Image

TOLERANCE = 40


def near(p, c):
    return all(abs(a - b) <= TOLERANCE for a, b in zip(p, c))


def parse_colour(s):
    if s == "white":
        return (255, 255, 255)
    return tuple(int(s[i:i + 2], 16) for i in (1, 3, 5))


def box(img, x, y):
    return [img.getpixel((x + dx, y + dy))[:3]
            for dx in range(-3, 4) for dy in range(-3, 4)]


def check_at(img, spec):
    x, y, what = spec.split(",", 2)
    pixels = box(img, int(x), int(y))
    hatch = what.endswith("/hatch")
    colour = parse_colour(what.split("/")[0])
    share = sum(near(p, colour) for p in pixels) / len(pixels)
    white = sum(near(p, (255, 255, 255)) for p in pixels) / len(pixels)
    ok = share >= 0.15 and white >= 0.15 if hatch else share >= 0.6
    if not ok:
        return "at %s,%s: want %s, have %s (%.0f%% of it, %.0f%% white)" % (
            x, y, what, sorted(set(pixels))[:6], share * 100, white * 100)
    return None


def varied(img):
    colours = img.getcolors(maxcolors=1 << 20) or []
    total = img.width * img.height
    if len(colours) < 5 or max(n for n, _ in colours) > 0.99 * total:
        return "the picture is (nearly) one colour: %d colours" % len(colours)
    return None


def main(argv):
    img = Image.open(argv[1]).convert("RGB")
    faults = []
    for arg in argv[2:]:
        fault = varied(img) if arg == "--varied" else check_at(img, arg)
        if fault:
            faults.append(fault)
    for f in faults:
        print("%s: %s" % (argv[1], f))
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
