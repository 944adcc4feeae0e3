#!/usr/bin/python3
"""Reads a `poolrun report` SVG with an XML parser (exit 1 and the
parser's message if it is not well-formed XML) and prints its bars, one a
line: X Y WIDTH HEIGHT FILL TITLE, the title's lines joined by " | ".
With --texts, prints every text element's text instead, and with
--elements every element's name.

    svg_bars.py FILE.svg [--texts|--elements]
"""
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def main(argv):
    try:
        root = ET.parse(argv[1]).getroot()
    except ET.ParseError as e:
        print("%s: not well-formed XML: %s" % (argv[1], e))
        return 1
    mode = argv[2] if len(argv) > 2 else ""
    for el in root.iter():
        if mode == "--elements":
            print(el.tag.replace(NS, ""))
        elif mode == "--texts":
            if el.tag == NS + "text" or el.tag == NS + "title":
                print((el.text or "").replace("\n", " | "))
        elif el.tag == NS + "rect":
            title = el.find(NS + "title")
            if title is None:
                continue
            print(el.get("x"), el.get("y"), el.get("width"),
                  el.get("height"), el.get("fill"),
                  title.text.replace("\n", " | "))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
