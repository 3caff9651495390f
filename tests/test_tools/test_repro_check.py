"""tools/analysis_tools/repro_check.py: its variants and data digest (the
runs themselves are what it measures; see README, "Results")."""
import pytest

from tests.testing import load_script


def test_variants_and_digest(tmp_path):
    tool = load_script('tools/analysis_tools/repro_check.py')
    assert tool.parse_variant('threads=2') == {'OMP_NUM_THREADS': '2'}
    assert tool.parse_variant('threads=1,isa=avx2') == {
        'OMP_NUM_THREADS': '1',
        'ATEN_CPU_CAPABILITY': 'avx2',
        'ONEDNN_MAX_CPU_ISA': 'AVX2'
    }
    for bad in ('threads=x', 'isa=sse', 'cores=2'):
        with pytest.raises(SystemExit, match='bad variant'):
            tool.parse_variant(bad)
    (tmp_path / 'train' / 'images').mkdir(parents=True)
    (tmp_path / 'train' / 'label.txt').write_text('# a.jpg\n')
    (tmp_path / 'train' / 'images' / 'a.jpg').write_bytes(b'\xff\xd8')
    first = tool.data_digest(str(tmp_path))
    assert first == tool.data_digest(str(tmp_path))
    (tmp_path / 'train' / 'images' / 'a.jpg').write_bytes(b'\xff\xd9')
    assert tool.data_digest(str(tmp_path)) != first
