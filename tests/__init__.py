# A regular package: a top-level ``tests`` package that a wheel installs into
# site-packages (model-index, which openmim needs, ships one) would otherwise
# shadow this folder in ``from tests... import``.
