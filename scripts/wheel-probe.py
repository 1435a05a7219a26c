"""Run by a venv's Python where the wheels are installed: the native module must come from the wheel and work.

usage: python -I scripts/wheel-probe.py MACHINE   (MACHINE: the expected platform.machine(), e.g. aarch64)

Decodes an OCPP frame with the native codec and checks the CRC-8 against its published check value,
then prints what it saw as one JSON line. Used by scripts/test-wheel-aarch64.sh and the release workflow.
"""

import json
import platform
import sys

import voltyard
import voltyard._native as native
from voltyard.ocpp.codec import load_codec

FRAME = b'[2,"19223201","BootNotification",{"chargePointVendor":"VY","chargePointModel":"M1"}]'


def main() -> None:
    expected_machine = sys.argv[1]
    assert platform.machine() == expected_machine, (platform.machine(), expected_machine)
    # The extension must be the installed wheel's, not a source tree's.
    assert native.__file__ is not None
    assert native.__file__.startswith(sys.prefix), (native.__file__, sys.prefix)
    call = load_codec().decode(FRAME)
    assert isinstance(call, native.Call), type(call)
    assert (call.message_id, call.action) == ("19223201", "BootNotification"), call
    assert call.payload == {"chargePointVendor": "VY", "chargePointModel": "M1"}, call.payload
    # CRC-8 (poly 0x07, init 0) of "123456789" is 0xF4, the algorithm's published check value.
    assert native.crc8(b"123456789") == 0xF4
    filled = native.fill_can_crc(bytes(range(1, 8)) + b"\0")
    assert native.check_can_crc(filled)
    assert not native.check_can_crc(filled[:7] + bytes([filled[7] ^ 1]))
    print(
        json.dumps(
            {
                "machine": platform.machine(),
                "python": platform.python_version(),
                "native": native.__file__,
                "version": voltyard.__version__,
                "decoded": [call.message_id, call.action, call.payload],
                "crc8(123456789)": hex(native.crc8(b"123456789")),
                "fill_can_crc": filled.hex(),
            }
        )
    )


if __name__ == "__main__":
    main()
