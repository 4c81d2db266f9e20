#!/usr/bin/env python3
"""Builds an FT bundle image for ftsim's second bootstrap (--two-stage), laid out as a
firmware generation's ft_fw_bundle: the perso image at slot A (0), a ROM_EXT manifest
stub at slot B and owner firmware bytes at owner slot B (docs/ftsim.md "Firmware
profiles"). The perso firmware checks, when it finalizes OTP, that the manifest at slot B
carries the ROM_EXT identifier "OTRE" (manifest_t.identifier, offset 820).

The image ends after the owner bytes; erased (0xFF) space is not sent by a host anyway.

usage: make_bundle.py --firmware NAME --perso FILE -o OUT [--owner FILE] [--no-rom-ext]
"""
import argparse
import struct
import sys

# name: (slot A usable size, slot B, owner slot B), from wire/fw_gen.c.
LAYOUTS = {
    "a2-rc17": (0x80000, 0x80000, 0x90000),
    "earlgrey-1.0.0": (0x80000, 0x80000, 0x90000),
    "master": (0xF8000, 0x100000, 0x110000),
}
MANIFEST_SIZE = 1024  # the stub: manifest_t is 896 bytes plus extensions
IDENTIFIER_OFFSET = 820  # lib/manifest.h OT_ASSERT_MEMBER_OFFSET(manifest_t, identifier, 820)
ROM_EXT_IDENTIFIER = 0x4552544F  # lib/base/chip.h CHIP_ROM_EXT_IDENTIFIER, "OTRE"
OWNER_DEFAULT = b"owner firmware stub\n" * 13


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firmware", required=True, choices=sorted(LAYOUTS))
    ap.add_argument("--perso", required=True, help="the perso firmware image (slot A)")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--owner", help="owner firmware bytes (default: a short stub)")
    ap.add_argument("--no-rom-ext", action="store_true",
                    help="leave the identifier out: a bundle the firmware refuses")
    a = ap.parse_args(argv)
    slot_a, slot_b, owner_b = LAYOUTS[a.firmware]
    perso = open(a.perso, "rb").read()
    owner = open(a.owner, "rb").read() if a.owner else OWNER_DEFAULT
    if len(perso) > slot_a:
        ap.error("the perso image (%d bytes) does not fit slot A (%d)" % (len(perso), slot_a))
    if not perso or not owner:
        ap.error("empty image")
    image = bytearray(b"\xff" * (owner_b + len(owner)))
    image[:len(perso)] = perso
    manifest = bytearray(MANIFEST_SIZE)
    if not a.no_rom_ext:
        struct.pack_into("<I", manifest, IDENTIFIER_OFFSET, ROM_EXT_IDENTIFIER)
    image[slot_b:slot_b + MANIFEST_SIZE] = manifest
    image[owner_b:owner_b + len(owner)] = owner
    with open(a.output, "wb") as f:
        f.write(image)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
