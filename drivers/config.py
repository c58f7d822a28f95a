"""Config tables for each device kind, as in the agent's TOML (``[doors.relay]``, ``[[doors.readers]]``).

One pydantic model per kind, discriminated by ``kind``, unknown keys refused, so a typo in
an installer's config is an error that names the key, not a silently ignored setting.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from protocols.cardformats import UidForm
from protocols.messages import Direction


class _Device(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Reader(_Device):
    direction: Direction = Direction.IN
    #: how this reader reports a card, given the UID the hub holds for it (protocols.cardformats):
    #: "full" (the UID itself), or e.g. "w26-first3-reversed" for a 13.56 MHz Wiegand 26 reader.
    #: The gate tells the hub, and the hub lists each card under that form too.
    uid_form: UidForm = UidForm.FULL


class _FullUidOnly(_Reader):
    """A reader that always reports the card's whole UID (PC/SC, RDM6300)."""

    @model_validator(mode="after")
    def _full_only(self) -> "_FullUidOnly":
        if self.uid_form is not UidForm.FULL:
            raise ValueError(f"uid_form: a {self.kind} reader reports the whole UID; only \"full\" fits")  # type: ignore[attr-defined]
        return self


class Em4100SerialReader(_FullUidOnly):
    kind: Literal["em4100-serial"]
    port: str
    baudrate: int = 9600


class WiegandSerialReader(_Reader):
    kind: Literal["wiegand-serial"]
    port: str
    baudrate: int = 9600
    #: 26 (H10301), 34 (H10306), 35 (Corporate 1000), 37 (H10304): protocols.cardformats
    formats: tuple[Literal[26, 34, 35, 37], ...] = (26, 34)

    @model_validator(mode="after")
    def _form_fits_formats(self) -> "WiegandSerialReader":
        width = {"w26": 26, "w34": 34}.get(self.uid_form.value[:3])
        if width is not None and width not in self.formats:
            raise ValueError(f"uid_form: {self.uid_form.value} is Wiegand {width}, which is not in formats")
        return self


class PcscReader(_FullUidOnly):
    kind: Literal["pcsc"]
    reader: str = Field(description="a substring of the PC/SC reader name")


class OsdpReader(_Reader):
    kind: Literal["osdp"]
    port: str
    baudrate: int = 9600
    address: int = Field(default=1, ge=0, le=126)
    scbk: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32}$", description="omitted: install mode")


class SimReader(_Reader):
    kind: Literal["sim"]


class QrSerialReader(_Device):
    """A 2D (QR) scanner in serial mode: one text line per scan (drivers.qr_serial)."""

    kind: Literal["qr-serial"]
    port: str
    baudrate: int = 9600
    direction: Direction = Direction.IN
    #: the same text again within this many seconds is the same scan (a scanner in continuous
    #: mode reads a phone held under it several times a second; each must not spend an entry)
    repeat_s: float = Field(default=1.5, ge=0, le=10)

    @property
    def uid_form(self) -> UidForm:
        """A scanner reads no cards: it adds no UID form (so code that lists forms passes it by)."""
        return UidForm.FULL


ReaderConfig = Annotated[
    Union[Em4100SerialReader, WiegandSerialReader, PcscReader, OsdpReader, SimReader, QrSerialReader],
    Field(discriminator="kind"),
]


class _Relay(_Device):
    pulse_ms: int = Field(default=3000, ge=50, le=60_000)
    #: fail-secure locks open when energised (the default); fail-safe maglocks open when the
    #: output is released, so the relay's sense is inverted for them.
    fail_safe: bool = False


class LcusSerialRelay(_Relay):
    kind: Literal["lcus-serial"]
    port: str
    baudrate: int = 9600
    channel: int = Field(default=1, ge=1, le=8)


class ModbusRtuRelay(_Relay):
    kind: Literal["modbus-rtu"]
    port: str
    baudrate: int = 9600
    unit: int = Field(default=1, ge=1, le=247)
    channel: int = Field(default=1, ge=1, le=64, description="1-based coil number")


class GpioRelay(_Relay):
    kind: Literal["gpio"]
    pin: int = Field(ge=0, le=53, description="BCM pin number")
    active_high: bool = True


class SimRelay(_Relay):
    kind: Literal["sim"]


RelayConfig = Annotated[Union[LcusSerialRelay, ModbusRtuRelay, GpioRelay, SimRelay], Field(discriminator="kind")]


class GpioInput(_Device):
    """A door contact or exit button on a GPIO pin (BCM numbering)."""

    #: may be left out: a contact or exit button without a kind is a GPIO pin (older configs)
    kind: Literal["gpio"] = "gpio"
    pin: int = Field(ge=0, le=53)
    pull_up: bool = True
    active_low: bool = True


class ModbusRtuInput(_Device):
    """A door contact or exit button on a discrete input of a Modbus RTU I/O board (function 0x02).

    Polled, so a change is seen within ``poll_ms``. Many boards carry the relay coils and the
    inputs on one RS-485 bus: a relay and inputs on the same port share one client
    (drivers.modbus_rtu), so they must agree on its baud rate.
    """

    kind: Literal["modbus-rtu"]
    port: str
    baudrate: int = 9600
    unit: int = Field(default=1, ge=1, le=247)
    input: int = Field(ge=1, le=2000, description="1-based discrete input number")
    poll_ms: int = Field(default=100, ge=20, le=5000)
    #: the input reads 1 when the door is open (the button pressed); False for a contact that
    #: holds the input on while the door is shut
    active_high: bool = True


def _input_kind(value: object) -> str:
    kind = value.get("kind", "gpio") if isinstance(value, dict) else getattr(value, "kind", "gpio")
    return kind if isinstance(kind, str) else "gpio"


#: a door contact or exit button: a GPIO pin (``kind`` may be left out) or a Modbus RTU input
InputConfig = Annotated[
    Union[Annotated[GpioInput, Tag("gpio")], Annotated[ModbusRtuInput, Tag("modbus-rtu")]],
    Discriminator(_input_kind),
]
