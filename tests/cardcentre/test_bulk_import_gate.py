"""Imported cards reach a real gate: a real hub and gate agent on a real broker; the file goes
in through the HTTP API, the active card opens, the card the old system had blocked as lost
is refused as lost."""

from __future__ import annotations

from gate_agent.agent import GateAgent
from hub.gates import acl
from tests.rigs import stack
from tests.rigs.wait import wait_for

DOOR = "north-in"
FILE = ("卡号,类型,姓名,房号,有效期止,状态\n"
        "0D0D0D01,员工,Guard Zhou,,2030-12-31,正常\n"
        "0D0D0D02,员工,Guard Qian,,2030-12-31,挂失\n"
        "0D0D0D03,temporary,Visitor Sun,,2030-12-31,revoked\n").encode("gbk")


def test_imported_cards_reach_the_gate_and_a_lost_one_is_denied_as_lost(tmp_path, broker):
    hub = stack.start(tmp_path / "hub", broker)
    agent = GateAgent(stack.agent_config(hub.site, "north", tmp_path / "agent", broker, [stack.sim_door(DOOR)],
                                         gate_key=stack.register(hub, "north")))
    agent.start()
    try:
        api = stack.client(hub, "supervisor")
        r = api.post("/api/v1/cards/imports?dry_run=false", files={"file": ("old-system.csv", FILE, "text/csv")})
        assert r.status_code == 202, r.text
        job = wait_for(lambda: (j := api.get(r.json()["url"]).json())["finished_at"] and j, timeout=20,
                       what="the import to finish")
        assert job["state"] == "done" and job["written"] == 3, job

        def projected() -> bool:
            with hub.store.read() as db:
                return not acl.pending_work(db)

        wait_for(projected, timeout=20, what="the import's re-projection job to end")
        stack.in_step(hub, agent, timeout=10, what="the gate holding the imported cards")
        assert agent.acl.get("0D0D0D02") is not None

        reader = agent.reader(f"{DOOR}/0")
        for uid in ("0D0D0D01", "0D0D0D02", "0D0D0D03"):
            reader.tap(uid)
        seen = wait_for(lambda: (p := {e["uid"]: e for e in stack.passes(api) if e["uid"].startswith("0D0D0D")})
                        and len(p) == 3 and p, what="the three taps at the hub")
        assert (seen["0D0D0D01"]["decision"], seen["0D0D0D01"]["reason"]) == ("granted", "valid_card")
        assert (seen["0D0D0D02"]["decision"], seen["0D0D0D02"]["reason"]) == ("denied", "card_lost")
        assert (seen["0D0D0D03"]["decision"], seen["0D0D0D03"]["reason"]) == ("denied", "card_revoked")
    finally:
        agent.stop()
        hub.stop()
