import pytest
import torch
import torch.nn.functional as F

from frskd_mm.models.backbones import WideResNetCIFAR
from frskd_mm.models.backbones.wide_resnet_cifar import PreActBlock

BLOCKS = ('preact', 'authors')


def authors_wrn_parameters(depth: int, widen_factor: int) -> int:
    """Parameters of the FRSKD authors' ``WideResNet`` (their
    ``classification/models/wrn.py``) without its classifier ``fc`` and
    without its ``bn1``, which its forward never uses.

    ``conv1`` (3 -> 16, 3x3); per stage ``NetworkBlock`` of n = (d - 4) / 6
    ``BasicBlock``s: ``conv1`` (3x3, c_in -> c), ``bn2`` (2c), ``conv2``
    (3x3, c -> c) and, where c_in != c, ``convShortcut`` (1x1); then the
    stage's ``block{1,2,3}bn`` (2c). No conv has a bias and the blocks have
    no ``bn1``.
    """
    n = (depth - 4) // 6
    widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
    total = 3 * 16 * 9
    for c_in, c in zip(widths[:-1], widths[1:]):
        for b in range(n):
            cin = c_in if b == 0 else c
            total += 9 * cin * c + 2 * c + 9 * c * c
            total += cin * c if cin != c else 0
        total += 2 * c
    return total


@pytest.mark.parametrize('block', BLOCKS)
def test_wrn16_2_stages_and_parameters(block):
    model = WideResNetCIFAR(
        depth=16, widen_factor=2, out_indices=(0, 1, 2), block=block)
    outs = model(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 32, 32), (2, 64, 16, 16),
                                              (2, 128, 8, 8)]
    assert all((o >= 0).all() for o in outs)
    # WRN-16-2 has about 0.69M parameters (Zagoruyko & Komodakis, Table 1
    # lists 0.7M).
    n_params = sum(p.numel() for p in model.parameters())
    assert 0.68e6 < n_params < 0.71e6


@pytest.mark.parametrize('depth,widen_factor,count', [
    (16, 2, 689_904),
    (28, 10, 36_466_032),
])
def test_authors_block_has_the_authors_parameters(depth, widen_factor, count):
    # count: the authors' model built from their wrn.py, all parameters
    # less fc and the unused bn1 (WRN-16-2: 703,060 - 12,900 - 256 with 100
    # classes).
    assert authors_wrn_parameters(depth, widen_factor) == count
    model = WideResNetCIFAR(
        depth=depth, widen_factor=widen_factor, block='authors')
    assert sum(p.numel() for p in model.parameters()) == count
    if depth == 16:
        # Their state dict less fc and bn1 has 61 entries (buffers too).
        assert len(model.state_dict()) == 61


def test_preact_state_dict_is_unchanged():
    """Version-1 checkpoints (the preact block) load unchanged: one input
    BN per block, 672 parameters more than the authors' WRN-16-2."""
    keys = WideResNetCIFAR(block='preact').state_dict().keys()
    assert len(keys) == 61 + 6 * 5
    assert {
        'stages.0.0.bn1.weight', 'stages.2.1.bn1.running_var',
        'stages.1.0.shortcut.weight', 'stage_norms.2.bias'
    } <= set(keys)
    assert not any('.bn1.' in k
                   for k in WideResNetCIFAR(block='authors').state_dict())
    # bn1 of the two blocks of each stage: (16 + 32), (32 + 64), (64 + 128).
    input_norms = 2 * (16 + 32 + 32 + 64 + 64 + 128)
    n_params = sum(p.numel() for p in WideResNetCIFAR().parameters())
    assert n_params == authors_wrn_parameters(16, 2) + input_norms


@pytest.mark.parametrize('shape', [(16, 16, 1), (16, 32, 1), (32, 64, 2)])
def test_authors_block_by_hand(shape):
    """ReLU acts on the block input directly (no BN); the identity is the
    raw input, or the 1x1 shortcut of its ReLU when the shape changes."""
    in_ch, out_ch, stride = shape
    block = PreActBlock(in_ch, out_ch, stride, with_input_norm=False)
    x = torch.randn(2, in_ch, 8, 8)
    a = F.relu(x)
    branch = block.conv2(F.relu(block.bn2(block.conv1(a))))
    identity = x if block.shortcut is None else block.shortcut(a)
    assert (block.shortcut is None) == (in_ch == out_ch and stride == 1)
    assert torch.allclose(block(x), branch + identity)
    assert not hasattr(block, 'bn1')


@pytest.mark.parametrize('block', BLOCKS)
def test_next_stage_reads_the_stage_norm_output(block):
    """Stage i + 1 reads stage i's BN output (not its ReLU); the features
    are the ReLUs of the three stage BNs."""
    model = WideResNetCIFAR(out_indices=(0, 1, 2), block=block)
    seen = {}

    def keep(name, io):

        def hook(module, args, output):
            seen[name] = args[0] if io == 'in' else output

        return hook

    for i in range(3):
        model.stage_norms[i].register_forward_hook(keep(f'norm{i}', 'out'))
        model.stages[i].register_forward_hook(keep(f'stage{i}', 'in'))
    outs = model(torch.randn(2, 3, 32, 32))
    for i in range(2):
        assert seen[f'stage{i + 1}'] is seen[f'norm{i}']
        assert (seen[f'norm{i}'] < 0).any()  # not activated
    for i in range(3):
        assert torch.equal(outs[i], F.relu(seen[f'norm{i}']))


@pytest.mark.parametrize('block', BLOCKS)
def test_same_network_whatever_stages_are_returned(block):
    full = WideResNetCIFAR(out_indices=(0, 1, 2), block=block)
    last = WideResNetCIFAR(out_indices=(2, ), block=block)
    last.load_state_dict(full.state_dict())
    full.eval(), last.eval()
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(full(x)[-1], last(x)[0])


def test_bad_depth_is_rejected():
    with pytest.raises(ValueError, match='6n \\+ 4'):
        WideResNetCIFAR(depth=15)


def test_bad_block_is_rejected():
    with pytest.raises(ValueError, match='block must be one of'):
        WideResNetCIFAR(block='bottleneck')
