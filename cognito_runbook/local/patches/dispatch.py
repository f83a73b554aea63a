"""moto's server dispatch (part of the one place that touches moto's internals: see
``patches/__init__.py``)."""

from __future__ import annotations


def speed_up_dispatch() -> None:
    """moto's server lists its own package folder (about 180 stat calls) on every request
    to map a host to a service, which is a third of a request's time here. The folder
    does not change while the server runs, so list it once."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "_cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules():
        return modules

    list_of_moto_modules._cached = True
    backends.list_of_moto_modules = list_of_moto_modules
