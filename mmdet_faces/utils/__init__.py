"""Helpers shared by several packages of :mod:`mmdet_faces`."""
from .number_parser import parse_numbers, token_bounds

__all__ = ['parse_numbers', 'token_bounds']
