"""Data set converters and generators (command line tools); the synthetic
data generators are the importable package :mod:`.synthetic`."""
