"""`gate-agent`: run one gate, check its config, or list the devices attached."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from typing import Callable, Sequence

from protocols.configfile import ConfigError


def _notifier() -> Callable[[str], None] | None:
    """systemd's notify socket (Type=notify, WatchdogSec=) when systemd gave us one."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return None
    try:
        import sdnotify
    except ImportError:
        logging.getLogger(__name__).warning("NOTIFY_SOCKET is set but sdnotify is not installed")
        return None
    n = sdnotify.SystemdNotifier()
    return n.notify


def _cmd_run(args: argparse.Namespace) -> int:
    from gate_agent.agent import GateAgent
    from gate_agent.config import load_config

    agent = GateAgent(load_config(args.config), notify=_notifier())
    done = threading.Event()

    def _on_signal(signum, frame) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    agent.start()
    try:
        while not done.wait(1.0):
            pass
    finally:
        agent.stop()
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from gate_agent.config import load_config

    cfg = load_config(args.config)
    readers = sum(len(d.readers) for d in cfg.doors)
    print(f"ok: gate {cfg.agent.gate_id} ({cfg.agent.role}) at site {cfg.agent.site}: "
          f"{len(cfg.doors)} doors, {readers} readers; remote open {'on' if cfg.agent.gate_key else 'off'}")
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    if args.uid or args.listen:
        return _probe_forms(args)
    try:
        from drivers import probe
    except ImportError:
        print("gate-agent: device probing is not available (drivers.probe is not installed)", file=sys.stderr)
        return 1
    print(json.dumps(probe.probe(), indent=2, default=str))
    return 0


def _probe_forms(args: argparse.Namespace) -> int:
    """What a card looks like in each UID form: typed (--uid) or tapped on this gate's readers (--listen)."""
    from gate_agent import probe_taps
    from protocols.uid import InvalidUid

    for uid in args.uid or ():
        try:
            print(json.dumps(probe_taps.forms_of(uid), indent=2))
        except InvalidUid as exc:
            print(f"gate-agent: {exc}", file=sys.stderr)
            return 2
    if args.listen:
        if not args.config:
            print("gate-agent: probe --listen needs --config (the readers to open)", file=sys.stderr)
            return 2
        from gate_agent.config import load_config

        cfg = load_config(args.config)
        print(f"# tap cards on the readers of gate {cfg.agent.gate_id} for {args.listen:g} s "
              "(one card on a whole-UID reader, then on the Wiegand one)", flush=True)
        probe_taps.listen(cfg, args.listen, lambda line: print(json.dumps(line), flush=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gate-agent", description="The gatehouse gate agent.")
    parser.add_argument("--log-level", default=os.environ.get("GATE_AGENT_LOG", "INFO"))
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="run one gate's agent")
    p.add_argument("--config", required=True)
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("check-config", help="validate a config file; non-zero exit names the bad key")
    p.add_argument("--config", required=True)
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("probe", help="list serial, PC/SC and GPIO devices this machine has; "
                       "with --uid or --listen, show a card in each UID form")
    p.add_argument("--uid", action="append", help="show this UID in every form (repeatable)")
    p.add_argument("--listen", type=float, metavar="SECONDS",
                   help="open the readers of --config and show each tapped card in every form")
    p.add_argument("--config", help="the agent config whose readers --listen opens")
    p.set_defaults(func=_cmd_probe)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        return args.func(args)
    except ConfigError as exc:  # every command that reads a config: exit 2 naming the key
        print(f"gate-agent: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
