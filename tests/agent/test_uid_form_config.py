"""A reader's ``uid_form`` in the agent config, and ``gate-agent probe`` showing a tapped card in
every form (real drivers on pty pairs) so the installer can choose it."""

from __future__ import annotations

import json
import threading

import pytest

from gate_agent import probe_taps
from gate_agent.cli import main
from gate_agent.config import AgentConfig
from protocols.em4100 import encode_frame
from protocols.wiegand import encode_wiegand, hex_digits
from tests.rigs.wait import wait_for

BASE = {"agent": {"gate_id": "north", "site": "demo", "data_dir": "/tmp/x", "gate_key": "5a" * 32}}


def _config(readers: list[dict]) -> AgentConfig:
    return AgentConfig.model_validate({**BASE, "doors": [{"id": "north-in", "relay": {"kind": "sim"},
                                                          "readers": readers}]})


def test_uid_form_is_checked_against_the_reader():
    cfg = _config([{"kind": "wiegand-serial", "port": "/dev/null", "uid_form": "w26-first3-reversed"}])
    assert cfg.doors[0].readers[0].uid_form.value == "w26-first3-reversed"
    assert _config([{"kind": "em4100-serial", "port": "/dev/null"}]).doors[0].readers[0].uid_form.value == "full"
    with pytest.raises(ValueError, match="only \"full\" fits"):
        _config([{"kind": "pcsc", "reader": "ACR122", "uid_form": "w26-last3"}])
    with pytest.raises(ValueError, match="not in formats"):
        _config([{"kind": "wiegand-serial", "port": "/dev/null", "formats": [26], "uid_form": "w34-last4"}])
    with pytest.raises(ValueError, match="uid_form"):
        _config([{"kind": "wiegand-serial", "port": "/dev/null", "uid_form": "w26-backwards"}])


def test_probe_uid_prints_every_form(capsys):
    assert main(["probe", "--uid", "0a:00:4d:76:03"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["uid"] == "0A004D7603"
    assert shown["forms"]["w26-last3"]["reads_as"] == "4D7603"
    assert shown["forms"]["w26-first3"]["reads_as"] is None
    assert main(["probe", "--uid", "XYZ"]) == 2


def test_probe_listen_names_the_form_that_relates_two_readers(pty_device):
    rdm, wiegand = pty_device(), pty_device()
    cfg = _config([
        {"kind": "em4100-serial", "port": rdm.path},
        {"kind": "wiegand-serial", "port": wiegand.path, "formats": [26]},
    ])
    lines: list[dict] = []
    done = threading.Thread(target=probe_taps.listen, args=(cfg, 3.0, lines.append), daemon=True)
    done.start()
    # the same EM4100 tag on the RDM6300, then on a 125 kHz Wiegand 26 reader
    def tapped(n: int, send) -> bool:
        send()
        return len(lines) >= n
    wait_for(lambda: tapped(1, lambda: rdm.write(encode_frame("0A004D7603"))) or None, 5, "the RDM6300 read")
    raw = encode_wiegand(0x4D7603, 26)
    wait_for(lambda: tapped(2, lambda: wiegand.write(f"W26:{raw:0{hex_digits(26)}X}\r\n".encode())) or None, 5,
             "the Wiegand read")
    done.join(10)
    first, second = lines[0], lines[1]
    assert (first["reader"], first["uid"]) == ("north-in/0", "0A004D7603")
    assert (second["reader"], second["uid"], second["uid_form"]) == ("north-in/1", "4D7603", "full")
    assert second["same_card_as"] == {"north-in/0": ["w26-last3"]}
