"""Command line tools. A regular package only so that tests and tools can
import :mod:`tools.dataset_converters.synthetic` with the repository root on
``sys.path``; nothing here is installed with ``mmdet_faces``."""
