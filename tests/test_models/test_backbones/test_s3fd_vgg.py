import pytest
import torch


@pytest.mark.parametrize('size', [(64, 96), (72, 100)])
def test_s3fd_vgg_sources_match_reference_sizes(size):
    from mmdet_faces.models.backbones import S3FDVGG
    from tests.reference.s3fd_ref import S3FDRef

    torch.manual_seed(0)
    model = S3FDVGG().eval()
    ref = S3FDRef('train').eval()
    x = torch.randn(1, 3, *size) * 50
    with torch.no_grad():
        outs = model(x)
        loc, _, _ = ref(x)
    assert len(outs) == 6
    assert [o.shape[1] for o in outs] == [256, 512, 512, 1024, 512, 256]
    assert model.out_channels == (256, 512, 512, 1024, 512, 256)
    # reference feature-map sizes (from its loc outputs)
    n = sum(o.shape[2] * o.shape[3] for o in outs)
    assert n == loc.shape[1]
    # only the pool after conv3_3 is ceil mode; pool5 is 2x2 stride 2
    pools = [m for m in model.features if isinstance(m, torch.nn.MaxPool2d)]
    assert [p.ceil_mode for p in pools] == [False, False, True, False, False]
    assert all(p.kernel_size == 2 and p.stride == 2 for p in pools)
    conv6 = model.features[31]
    assert conv6.dilation == (6, 6) and conv6.padding == (6, 6)


def test_s3fd_vgg_state_dict_layout_and_init():
    from mmdet_faces.models.backbones import S3FDVGG

    model = S3FDVGG()
    model.init_weights()
    keys = set(model.state_dict())
    conv_ids = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28, 31, 33]
    expect = {
        f'features.{i}.{p}'
        for i in conv_ids
        for p in ('weight', 'bias')
    }
    expect |= {f'extras.{i}.{p}' for i in range(4) for p in ('weight', 'bias')}
    expect |= {f'l2_norms.{i}.weight' for i in range(3)}
    assert keys == expect
    # the L2Norm scales survive init_weights; conv biases are zero
    scales = [float(m.weight.detach()[0]) for m in model.l2_norms]
    assert scales == [10., 8., 5.]
    assert float(model.features[0].bias.detach().abs().sum()) == 0.


def test_s3fd_vgg_widen_factor():
    from mmdet_faces.models.backbones import S3FDVGG

    model = S3FDVGG(widen_factor=0.125)
    assert model.out_channels == (32, 64, 64, 128, 64, 32)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == list(model.out_channels)
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2, 1, 1]
