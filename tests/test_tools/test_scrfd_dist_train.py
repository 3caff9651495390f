"""The SCRFD demo config through tools/dist_train.sh (2 CPU ranks, gloo) on
the tiny generated WIDER set, validated with the WIDER Face metric."""
import pytest

from tests.testing import (assert_trained_in_step, read_dist_checks, run_tool,
                           widerface_options)

pytestmark = pytest.mark.slow
CONFIG = 'configs/scrfd/scrfd_2.5g_kps_1xb8-12e_widerface-synthetic.py'
NUM_VAL = 12  # the tiny_widerface fixture


def test_dist_train_two_cpu_ranks(tiny_widerface, tmp_path):
    """Same weights on both ranks after the steps; the WIDER metric computed
    once, on rank 0, over all val images."""
    work = str(tmp_path / 'train')
    res = run_tool(
        'train',
        CONFIG,
        work,
        nproc=2,
        dist_check=True,
        cfg_options=widerface_options(tiny_widerface))
    assert res.returncode == 0, res
    checks = read_dist_checks(work)
    val = assert_trained_in_step(checks, NUM_VAL)
    assert {'widerface/easy', 'widerface/medium',
            'widerface/hard'} <= set(val[-1]['metrics'])
