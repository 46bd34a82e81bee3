/// Group normalisation, as PyTorch's `nn.GroupNorm(groups, channels)`: the channels of
/// `[N, C, …]` split into `groups` groups, each normalised per image over its channels and
/// positions; learned per-channel `weight` (ones) and `bias` (zeros) unless `affine` is
/// false. The same in training and evaluation: no running statistics.
public final class GroupNorm: Module, UnaryLayer {
    public let groups: Int
    public let weight: Parameter?
    public let bias: Parameter?
    public let epsilon: Float

    public init(groups: Int, channels: Int, epsilon: Float = 1e-5, affine: Bool = true) {
        require(groups > 0 && channels > 0 && channels % groups == 0, "GroupNorm: \(channels) channels do not split into \(groups) groups")
        self.groups = groups
        weight = affine ? Parameter(Tensor.ones([channels])) : nil
        bias = affine ? Parameter(Tensor.zeros([channels])) : nil
        self.epsilon = epsilon
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        if let channels = weight?.value.count {
            guard checkShape(input.rank >= 2 && input.shape[1] == channels, "GroupNorm: input \(input.shape) needs [N, \(channels), …]")
            else { return Tensor.zeros(input.shape) }
        }
        return groupNorm(input, groups: groups, weight: weight?.value, bias: bias?.value, epsilon: epsilon)
    }
}
