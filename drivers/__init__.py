"""Hardware behind two small interfaces: a CardReader yields card reads, a Relay pulses.

One module per device family. ``registry.build_reader`` / ``build_relay`` turn a config
table into a driver, importing the device library only when that kind is used, so an
agent with serial readers never needs pyscard.
"""
