import torch

from tests.reference.s3fd_ref import L2Norm as RefL2Norm


def test_l2norm_matches_reference_and_builds():
    from mmdet.registry import MODELS

    import mmdet_faces  # noqa: F401
    m = MODELS.build(dict(type='L2Norm', n_dims=8, scale=10.))
    assert torch.allclose(m.weight, torch.full((8, ), 10.))
    ref = RefL2Norm(8, 10)
    x = torch.randn(2, 8, 5, 7)
    with torch.no_grad():
        m.weight.uniform_(1, 5)
        ref.weight.copy_(m.weight)
    torch.testing.assert_close(m(x), ref(x), rtol=0, atol=1e-6)
    # unit channel norm times the weight
    y = m(x)
    norm = (y / m.weight[None, :, None, None]).pow(2).sum(1).sqrt()
    torch.testing.assert_close(norm, torch.ones_like(norm), rtol=0, atol=1e-5)
    # half precision goes through float32
    assert m(x.half()).dtype == torch.half
