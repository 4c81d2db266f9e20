#!/usr/bin/python3
"""An independent MPSSE client checks the FTDI emulator: Debian's flashrom (programmer
ft2232_spi, over the real libftdi1 and libusb) probes and reads the simulated chip's SPI
device under ftdi_testbed, on an FT2232H and an FT4232H, at several clock divisors.

Each run must find the SFDP flash the chip model announces (1024 kB), and read back a
1 MiB image made of the chip's 2 KiB read buffer repeated, byte for byte as the model
holds it when flashrom ends (ftdi_testbed --dump-read-buffer). The buffer holds the perso
firmware's first console frame: magic 0xA5A5BEEF, frame 0, 38 bytes of text, 0xFF
padding (docs/testing.md, test_flashrom).

usage: test_flashrom.py FTDI_TESTBED SKU_DIR SCRATCH
"""
import os
import shutil
import struct
import subprocess
import sys

ADAPTERS = (("2232h", "2232H"), ("4232h", "4232H"))
DIVISORS = (2, 4, 10, 64, 300)  # flashrom takes even divisors 2..131072 (60 MHz / d)
READ_BUFFER = 2048
FIRST_TEXT = b"Waiting For RMA Unlock Token Hash ...\n"


def main():
    testbed, skus, work = (os.path.abspath(a) for a in sys.argv[1:4])
    flashrom = shutil.which("flashrom")
    if flashrom is None:
        print("SKIP: flashrom is not installed (Debian package flashrom); skipping")
        sys.exit(77)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    passed = failed = 0
    for model, kind in ADAPTERS:
        for divisor in DIVISORS:
            image = os.path.join(work, "read-%s-%d.bin" % (model, divisor))
            dump = os.path.join(work, "buffer-%s-%d.bin" % (model, divisor))
            run = subprocess.run(
                [testbed, "--adapter", "FTA1:" + model, "--sku", os.path.join(skus, "sival.json"),
                 "--dump-read-buffer", dump, "--", flashrom, "-p",
                 "ft2232_spi:type=%s,port=A,divisor=%d" % (kind, divisor), "-r", image],
                capture_output=True, text=True, timeout=120, cwd=work)
            out = run.stdout + run.stderr
            problems = []
            if run.returncode != 0:
                problems.append("exit %d" % run.returncode)
            if 'Found Unknown flash chip "SFDP-capable chip" (1024 kB, SPI)' not in out:
                problems.append("no 1024 kB SFDP flash found")
            data = open(image, "rb").read() if os.path.exists(image) else b""
            held = open(dump, "rb").read() if os.path.exists(dump) else b""
            if len(data) != 1024 * 1024 or len(held) != READ_BUFFER:
                problems.append("image %d bytes, buffer %d bytes" % (len(data), len(held)))
            elif any(data[i:i + READ_BUFFER] != held for i in range(0, len(data), READ_BUFFER)):
                first = next(i for i in range(len(data)) if data[i] != held[i % READ_BUFFER])
                problems.append("byte 0x%x read 0x%02x, the model holds 0x%02x"
                                % (first, data[first], held[first % READ_BUFFER]))
            else:
                magic, frame, length = struct.unpack_from("<III", held)
                padded = (length + 3) & ~3
                if (magic, frame, length) != (0xA5A5BEEF, 0, len(FIRST_TEXT)) or \
                        held[12:12 + length] != FIRST_TEXT or \
                        held[12 + length:12 + padded] != b"\xff" * (padded - length):
                    problems.append("first frame: magic %08x, frame %d, length %d, %r"
                                    % (magic, frame, length, held[12:12 + length]))
            what = "flashrom on an FT%s, divisor %d: probe, read 1 MiB, first frame" % (kind,
                                                                                       divisor)
            if problems:
                failed += 1
                print("FAIL %s: %s\n%s" % (what, "; ".join(problems), out[-1500:]))
            else:
                passed += 1
                print("ok   " + what)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
