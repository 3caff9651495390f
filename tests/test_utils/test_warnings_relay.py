import warnings

import pytest

from mmdet_faces.utils import relay_warnings


class _Ours(UserWarning):
    pass


def test_relay_reports_ours_and_reissues_the_others():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        warnings.warn('bad label line 3', _Ours)
        warnings.warn('from a library', DeprecationWarning)
    reported = []
    with pytest.warns(DeprecationWarning, match='from a library') as again:
        relay_warnings(caught, _Ours, reported.append)
    assert reported == ['bad label line 3']
    assert [str(w.message) for w in again] == ['from a library']
