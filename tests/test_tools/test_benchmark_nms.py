"""tools/analysis_tools/benchmark_nms.py: every case runs and the
pure-torch NMS keeps mmcv's indices (a small size; no timing asserted)."""
from tools.analysis_tools import benchmark_nms


def test_benchmark_nms_runs_and_agrees(capsys, tmp_path):
    old = tmp_path / 'old_torch_ops.py'
    old.write_text(open(benchmark_nms.torch_ops.__file__).read())
    rows = benchmark_nms.main(
        ['--sizes', '90', '--repeat', '1', '--baseline',
         str(old)])
    assert [r['case'] for r in rows] == ['chain', 'faces', 'batch']
    for row in rows:
        assert row['kept'] > 0
        assert row['torch'][2] and row['baseline'][2], row
    out = capsys.readouterr().out
    assert '| batch | 32 x 90 |' in out and 'DIFFERS' not in out
