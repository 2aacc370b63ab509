"""ptp4l's management socket spoken directly (IEEE 1588 management messages over its UNIX
datagram socket): the same GET TIME_STATUS_NP / PORT_DATA_SET as ``pmc -u -b 0``, without
starting a process (about a millisecond instead of pmc's tenth of a second of waiting).

:func:`get_request` builds a GET, :func:`parse_management` reads one answer into the same
:class:`~mapping.cluster.ptp.PmcResponse` the pmc text parser gives (fields named and
formatted as pmc prints them), so :func:`~mapping.cluster.ptp.ptp_state` serves both.
:func:`query_uds` sends the GETs and collects the answers. Only GETs are ever sent.
"""

from __future__ import annotations

import os
import secrets
import socket
import struct
import time
from pathlib import Path

from mapping.cluster.daemonquery import DaemonOutputError
from mapping.cluster.ptp import PmcResponse

MANAGEMENT = 0x0D
PTP_VERSION = 2
CTL_MANAGEMENT = 4
ACTION_GET, ACTION_RESPONSE = 0, 2
TLV_MANAGEMENT, TLV_MANAGEMENT_ERROR_STATUS = 0x0001, 0x0002
TIME_STATUS_NP, PORT_DATA_SET = 0xC000, 0x2004
MANAGEMENT_IDS = {TIME_STATUS_NP: "TIME_STATUS_NP", PORT_DATA_SET: "PORT_DATA_SET"}
PORT_STATES = {
    1: "INITIALIZING",
    2: "FAULTY",
    3: "DISABLED",
    4: "LISTENING",
    5: "PRE_MASTER",
    6: "MASTER",
    7: "PASSIVE",
    8: "UNCALIBRATED",
    9: "SLAVE",
    10: "GRAND_MASTER",
}
ACTIONS = {0: "GET", 1: "SET", 2: "RESPONSE", 3: "COMMAND", 4: "ACKNOWLEDGE"}

_HEADER = struct.Struct(">BBHBB2sqI10sHBb")  # 34 bytes: the common PTP header
_MGMT = struct.Struct(">10sBBBB")  # target port, starting/boundary hops, action, reserved
_TLV = struct.Struct(">HHH")  # type, length, management id
_TIME_STATUS = struct.Struct(">qqiiH12si8s")  # 50 bytes
_PORT_DS = struct.Struct(">10sBbqbBbBbB")  # 26 bytes
WILDCARD_PORT = b"\xff" * 10


def clock_identity(raw: bytes) -> str:
    """As pmc prints it: ``001122.fffe.334455``."""
    h = raw.hex()
    return f"{h[0:6]}.{h[6:10]}.{h[10:16]}"


def port_identity(raw: bytes) -> str:
    """As pmc prints it: ``001122.fffe.334455-1``."""
    return f"{clock_identity(raw[:8])}-{int.from_bytes(raw[8:10], 'big')}"


def get_request(management_id: int, sequence: int, source_port: bytes, domain: int = 0) -> bytes:
    """A GET of ``management_id`` to every port (boundary hops 0: this ptp4l only)."""
    tlv = _TLV.pack(TLV_MANAGEMENT, 2, management_id)
    length = _HEADER.size + _MGMT.size + len(tlv)
    header = _HEADER.pack(
        MANAGEMENT,
        PTP_VERSION,
        length,
        domain,
        0,
        b"\0\0",
        0,
        0,
        source_port,
        sequence & 0xFFFF,
        CTL_MANAGEMENT,
        0x7F,
    )
    return header + _MGMT.pack(WILDCARD_PORT, 0, 0, ACTION_GET, 0) + tlv


def parse_management(data: bytes) -> PmcResponse | None:
    """One management answer (None: not a management message). Raises
    :class:`DaemonOutputError` for a truncated one."""
    if len(data) < _HEADER.size + _MGMT.size + _TLV.size:
        raise DaemonOutputError(f"ptp4l: management message of {len(data)} bytes is too short")
    head = _HEADER.unpack_from(data)
    if head[0] & 0x0F != MANAGEMENT:
        return None
    source = port_identity(head[8])
    action = ACTIONS.get(_MGMT.unpack_from(data, _HEADER.size)[3] & 0x0F, "?")
    tlv_type, tlv_len, mid = _TLV.unpack_from(data, _HEADER.size + _MGMT.size)
    tlv_at = _HEADER.size + _MGMT.size
    body = data[tlv_at + _TLV.size : tlv_at + 4 + tlv_len]  # the length counts the id
    name = MANAGEMENT_IDS.get(mid, f"0x{mid:04X}")
    if tlv_type == TLV_MANAGEMENT_ERROR_STATUS:
        # the error TLV: managementErrorId (read as mid above), then the management id
        error_id, asked = mid, int.from_bytes(body[:2], "big") if len(body) >= 2 else 0
        name = MANAGEMENT_IDS.get(asked, f"0x{asked:04X}")
        return PmcResponse(source, action, name, {}, f"MANAGEMENT_ERROR_STATUS 0x{error_id:04X}")
    if tlv_type != TLV_MANAGEMENT:
        return PmcResponse(source, action, name, {}, f"TLV type {tlv_type}")
    if mid == TIME_STATUS_NP:
        if len(body) < _TIME_STATUS.size:
            raise DaemonOutputError(f"ptp4l: TIME_STATUS_NP of {len(body)} bytes is too short")
        offset, ingress, _, _, _, _, present, gm = _TIME_STATUS.unpack_from(body)
        fields = {
            "master_offset": str(offset),
            "ingress_time": str(ingress),
            "gmPresent": "true" if present else "false",
            "gmIdentity": clock_identity(gm),
        }
        return PmcResponse(source, action, name, fields)
    if mid == PORT_DATA_SET:
        if len(body) < _PORT_DS.size:
            raise DaemonOutputError(f"ptp4l: PORT_DATA_SET of {len(body)} bytes is too short")
        port, state, *_ = _PORT_DS.unpack_from(body)
        fields = {
            "portIdentity": port_identity(port),
            "portState": PORT_STATES.get(state, f"state {state}"),
        }
        return PmcResponse(source, action, name, fields)
    return PmcResponse(source, action, name, {})


def query_uds(
    server: str,
    own_dir: Path,
    *,
    domain: int = 0,
    timeout_s: float = 1.0,
) -> list[PmcResponse]:
    """GET PORT_DATA_SET and TIME_STATUS_NP from the ptp4l at ``server``; the answers
    (empty when none came within ``timeout_s``). Raises OSError when the socket cannot be
    reached (no ptp4l there, no permission)."""
    own = own_dir / f"ptp-{os.getpid()}-{secrets.token_hex(4)}.sock"
    source = secrets.token_bytes(8) + os.getpid().to_bytes(4, "big")[-2:]
    sequence = secrets.randbelow(0x10000)
    answers: list[PmcResponse] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(own))
        try:
            # ports answer first, then the clock: once TIME_STATUS_NP is in, all are
            sock.sendto(get_request(PORT_DATA_SET, sequence, source, domain), server)
            sock.sendto(get_request(TIME_STATUS_NP, sequence + 1, source, domain), server)
            deadline = time.monotonic() + timeout_s
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                try:
                    data = sock.recv(1500)
                except TimeoutError:
                    break
                response = parse_management(data)
                if response is None or response.action != "RESPONSE":
                    continue
                answers.append(response)
                if response.management_id == "TIME_STATUS_NP":
                    break
        finally:
            own.unlink(missing_ok=True)
    return answers
