"""Nagios/Icinga plugin that alerts before a LaoZhang API account's prepaid balance runs out."""

__version__ = "0.1.0"
