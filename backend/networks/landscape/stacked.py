"""Forward passes of a model under many weight vectors at once, for the loss landscape's
grids: P flat weight vectors (P, n) in, outputs (P, classes, N) out. Pure computation.

- `StackedMLP`: an alternating Linear/activation `nn.Sequential`. P points are P stacked
  weight matrices applied with `bmm`, activations feature-major, samples in cache-sized
  blocks; on a plane origin + Σₖ cₖ·basisₖ the first layer is affine in the
  coefficients, so its pre-activations come from K + 1 matrices computed once.
- `StackedConvNet`: the lab's CNN, `Unflatten → [Conv2d → act → MaxPool2d(2)]… →
  Flatten → Linear…`. The first convolution sees the shared input with the P points'
  filters stacked as P·C output channels, later ones are grouped convolutions
  (groups = P), the linear head a batched matmul; 2×2 max-pooling is the maximum of
  four strided views (torch's CPU `max_pool2d` took 60–70% of the time on these
  8 × 8 images, per point or batched).

tanh is computed as 2·σ(2x) − 1: torch's CPU tanh is several times slower than sigmoid.
"""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ACTIVATION_BUDGET = 1 << 20  # floats of (points × samples × width) per block: 4 MB, cache-sized


def _tanh_(x: Tensor) -> Tensor:
    """tanh(x) = 2·σ(2x) − 1, in place: torch's CPU tanh is several times slower than sigmoid."""
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)


def _gelu_(x: Tensor) -> Tensor:
    return F.gelu(x)


ACTIVATIONS: dict[type[nn.Module], Callable[[Tensor], Tensor]] = {
    nn.ReLU: torch.relu_,
    nn.Tanh: _tanh_,
    nn.Sigmoid: torch.sigmoid_,
}


def activation_of(module: nn.Module) -> Callable[[Tensor], Tensor] | None:
    """The in-place function of an activation module, or None for one not handled here."""
    if isinstance(module, nn.GELU) and module.approximate == "none":
        return _gelu_
    return ACTIVATIONS.get(type(module))


class StackedMLP:
    """Forward of an alternating Linear/activation `nn.Sequential` under P weight vectors at once."""

    def __init__(self, model: nn.Sequential, offsets: dict[str, int]) -> None:
        self.layers: list[tuple[int, int, int, int, Callable[[Tensor], Tensor] | None]] = []
        modules = list(model.named_children())
        for i in range(0, len(modules), 2):
            name, linear = modules[i]
            assert isinstance(linear, nn.Linear)
            act = activation_of(modules[i + 1][1]) if i + 1 < len(modules) else None
            self.layers.append((offsets[f"{name}.weight"], offsets[f"{name}.bias"],
                                linear.out_features, linear.in_features, act))
        self.width = max(max(out, inp) for _, _, out, inp, _ in self.layers)
        self.scratch: dict[str, Tensor] = {}

    @staticmethod
    def supports(model: nn.Module) -> bool:
        if not isinstance(model, nn.Sequential) or len(model) % 2 != 1:
            return False
        for i, module in enumerate(model):
            if i % 2 == 0 and not (isinstance(module, nn.Linear) and module.bias is not None):
                return False
            if i % 2 == 1 and activation_of(module) is None:
                return False
        return True

    def _slices(self, flat: Tensor, layer: int) -> tuple[Tensor, Tensor]:
        """Weight (..., out, in) and bias (..., out) of a layer, from flat vectors (..., n)."""
        w_at, b_at, out, inp, _ = self.layers[layer]
        lead = flat.shape[:-1]
        return (flat[..., w_at:w_at + out * inp].reshape(*lead, out, inp),
                flat[..., b_at:b_at + out])

    # Activations are kept feature-major, (P, features, samples): on CPU the products
    # W_p·h_p with the long samples axis as columns run faster than h_p·W_pᵀ (the last,
    # narrow layer about twice as fast), and so do the class-axis reductions of the loss.

    def block(self, points: int) -> int:
        """Samples per block so a block's activations (P × width × block) stay cache-sized."""
        return max(64, ACTIVATION_BUDGET // (points * self.width))

    def points(self, x: Tensor, weights: Tensor) -> Tensor:
        """Outputs (P, C, N) for P arbitrary flat weight vectors (P, n)."""
        w, b = self._slices(weights, 0)
        pre = torch.matmul(w, x.T).add_(b.unsqueeze(2))  # (P, out, N)
        return self._rest(pre, [self._slices(weights, i) for i in range(1, len(self.layers))])

    def plane_stacks(self, x: Tensor, origin: Tensor, basis: Tensor,
                     block: int) -> tuple[list[Tensor], list[Tensor]]:
        """Origin and basis stacked per layer (K+1, out·in + out); for the first layer instead
        its pre-activations W·Xᵀ + b of the origin and of each basis vector (the layer is
        affine in the coefficients), per block of samples (K+1, out·block)."""
        stack = torch.cat([origin.unsqueeze(0), basis])  # (K+1, n)
        w, b = self._slices(stack, 0)
        first = [(torch.matmul(w, x[start:start + block].T) + b.unsqueeze(2)).flatten(1)
                 for start in range(0, len(x), block)]
        rest = [torch.cat([t.flatten(1) for t in self._slices(stack, i)], dim=1)
                for i in range(1, len(self.layers))]
        return first, rest

    def _buffer(self, name: str, shape: tuple[int, ...], like: Tensor) -> Tensor:
        """A reused contiguous scratch tensor of `shape`. Chunks allocate nothing: fresh
        multi-megabyte tensors each chunk cost page faults (glibc maps and unmaps them),
        which made the same grid up to 2× slower depending on the process's history."""
        size = math.prod(shape)
        storage = self.scratch.get(name)
        if storage is None or storage.numel() < size or storage.device != like.device:
            storage = self.scratch[name] = torch.empty(size, dtype=like.dtype, device=like.device)
        return storage[:size].view(shape)

    def plane(self, stacks: tuple[list[Tensor], list[Tensor]], coeffs: Tensor) -> Tensor:
        """Outputs (P, C, N) at origin + Σₖ cₖ·basisₖ for coefficient rows (P, K), in a
        scratch buffer that the next call overwrites."""
        first, rest = stacks
        points = len(coeffs)
        c1 = torch.cat([torch.ones_like(coeffs[:, :1]), coeffs], dim=1)  # (P, K+1)
        weights = []
        for i, stack in enumerate(rest, start=1):
            _, _, out, inp, _ = self.layers[i]
            wb = torch.mm(c1, stack, out=self._buffer(f"w{i}", (points, stack.shape[1]), c1))
            weights.append((wb[:, : out * inp].view(-1, out, inp), wb[:, out * inp:]))
        width, classes = self.layers[0][2], self.layers[-1][2]
        samples = sum(f.shape[1] for f in first) // width
        outputs = self._buffer("outputs", (points, classes, samples), c1)
        start = 0
        for f in first:
            block = f.shape[1] // width
            pre = torch.mm(c1, f, out=self._buffer("pre0", (points, width * block), c1))
            result = self._rest(pre.view(points, width, block), weights)
            outputs[:, :, start:start + block] = result
            start += block
        return outputs

    def _rest(self, pre: Tensor, weights: list[tuple[Tensor, Tensor]]) -> Tensor:
        for i, (w, b) in enumerate(weights):
            act = self.layers[i][4]
            assert act is not None
            shape = (w.shape[0], w.shape[1], pre.shape[2])
            # bmm then an in-place bias add: faster than baddbmm with a broadcast bias on CPU
            pre = torch.bmm(w, act(pre), out=self._buffer(f"pre{i + 1}", shape, pre)).add_(b.unsqueeze(2))
        return pre


class StackedConvNet:
    """Forward of the lab's CNN under P weight vectors at once (see the module docstring)."""

    def __init__(self, model: nn.Sequential, offsets: dict[str, int], sample: Tensor) -> None:
        self.model = model
        self.offsets = offsets
        self.per_sample = largest_activation(model, sample)  # floats per point and sample

    @staticmethod
    def supports(model: nn.Module) -> bool:
        """Unflatten, then convolutions (bias, stride 1, no dilation, no groups), activations
        and 2×2 max-pools, then Flatten and Linear/activation layers."""
        if not isinstance(model, nn.Sequential):
            return False
        flat, convs = False, 0
        for module in model:
            if isinstance(module, nn.Conv2d):
                ok = (not flat and module.bias is not None and module.stride == (1, 1)
                      and module.dilation == (1, 1) and module.groups == 1
                      and module.padding_mode == "zeros" and not isinstance(module.padding, str))
                convs += 1
            elif isinstance(module, nn.MaxPool2d):
                ok = (not flat and module.kernel_size in (2, (2, 2)) and module.stride in (2, (2, 2))
                      and module.padding in (0, (0, 0)) and module.dilation in (1, (1, 1))
                      and not module.ceil_mode and not module.return_indices)
            elif isinstance(module, nn.Flatten):
                ok, flat = not flat and module.start_dim == 1 and module.end_dim == -1, True
            elif isinstance(module, nn.Linear):
                ok = flat and module.bias is not None
            else:
                ok = isinstance(module, nn.Unflatten) or activation_of(module) is not None
            if not ok:
                return False
        return convs > 0 and flat

    def block(self, points: int) -> int:
        """Samples per block so a block's largest activation (P × block × C·H·W) stays cache-sized."""
        return max(16, ACTIVATION_BUDGET // (points * self.per_sample))

    def points(self, x: Tensor, weights: Tensor) -> Tensor:
        """Outputs (P, C, N) for P flat weight vectors (P, n), samples in blocks."""
        step = self.block(len(weights))
        return torch.cat([self._forward(x[start:start + step], weights)
                          for start in range(0, len(x), step)], dim=2)

    def _params(self, weights: Tensor, name: str, shape: torch.Size) -> Tensor:
        """Parameter `name` of every point, (P, *shape)."""
        at = self.offsets[name]
        return weights[:, at:at + math.prod(shape)].reshape(len(weights), *shape)

    def _forward(self, x: Tensor, weights: Tensor) -> Tensor:
        points, samples = len(weights), len(x)
        h, shared = x, True  # shared: the input, the same for every point
        for name, module in self.model.named_children():
            if isinstance(module, nn.Conv2d | nn.Linear):
                w = self._params(weights, f"{name}.weight", module.weight.shape)
                b = self._params(weights, f"{name}.bias", module.weight.shape[:1])
            if isinstance(module, nn.Conv2d):
                # (N, P·C_out, H, W): channels point-major, so a Flatten keeps each point's block
                h = F.conv2d(h, w.flatten(0, 1), b.flatten(), padding=module.padding,
                             groups=1 if shared else points)
                shared = False
            elif isinstance(module, nn.MaxPool2d):
                h = max_pool_2x2(h)
            elif isinstance(module, nn.Flatten):
                h = h.reshape(samples, points, -1).transpose(0, 1)  # (P, N, features)
            elif isinstance(module, nn.Linear):
                h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))  # (P, N, out)
            elif isinstance(module, nn.Unflatten):
                h = module(h)
            else:
                act = activation_of(module)
                assert act is not None
                h = act(h)
        return h.transpose(1, 2)  # (P, C, N)


def max_pool_2x2(h: Tensor) -> Tensor:
    """`F.max_pool2d(h, 2)` (floor mode: an odd last row or column is dropped) as the maximum
    of the four strided views; NaN propagates as in max_pool2d."""
    rows, cols = h.shape[-2] // 2 * 2, h.shape[-1] // 2 * 2
    top = torch.maximum(h[..., 0:rows:2, 0:cols:2], h[..., 0:rows:2, 1:cols:2])
    return torch.maximum(top, torch.maximum(h[..., 1:rows:2, 0:cols:2], h[..., 1:rows:2, 1:cols:2]))


def largest_activation(model: nn.Module, sample: Tensor) -> int:
    """The most floats any submodule outputs for one sample (a forward with hooks)."""
    sizes = [sample.numel()]
    hooks = [m.register_forward_hook(lambda _m, _i, out: sizes.append(out.numel()))
             for m in model.modules() if m is not model]
    try:
        with torch.no_grad():
            model(sample)
    finally:
        for hook in hooks:
            hook.remove()
    return max(sizes)
