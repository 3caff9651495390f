"""Helpers shared by several packages of :mod:`mmdet_faces`."""
from .counting import passed_power_of_ten
from .number_parser import parse_numbers, token_bounds
from .warnings_relay import relay_warnings

__all__ = [
    'parse_numbers', 'passed_power_of_ten', 'relay_warnings', 'token_bounds'
]
