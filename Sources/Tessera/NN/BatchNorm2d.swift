/// Batch normalisation over channels, as PyTorch's `nn.BatchNorm2d`: learned `weight`
/// (γ, ones) and `bias` (β, zeros); state `running_mean` (zeros), `running_var` (ones) and
/// `num_batches_tracked`, updated in training mode with momentum 0.1 and ε = 1e-5.
public final class BatchNorm2d: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Parameter
    public let runningVar: Parameter
    public let numBatchesTracked = Counter()
    public let momentum: Float
    public let epsilon: Float
    /// In a data-parallel job, the replicas whose batches this layer normalises together
    /// (PyTorch's `SyncBatchNorm`); nil (the default) normalises each replica's batch alone.
    public var replicas: (any ReplicaSum)?

    public init(features: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        weight = Parameter(Tensor.ones([features]))
        bias = Parameter(Tensor.zeros([features]))
        runningMean = Parameter(Tensor.zeros([features]), isState: true)
        runningVar = Parameter(Tensor.ones([features]), isState: true)
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        callAsFunction(input, rectify: false)
    }

    /// The normalised input, followed by ReLU when `rectify` (fused into one pass: the
    /// same result as `ReLU()(self(input))`, with less memory traffic).
    public func callAsFunction(_ input: Tensor, rectify: Bool) -> Tensor {
        guard checkShape(
            input.rank >= 2 && input.shape[1] == weight.value.count,
            "BatchNorm2d: input \(input.shape) needs [N, \(weight.value.count), …]")
        else { return Tensor.zeros(input.shape) }
        var mean = runningMean.value.detached(), variance = runningVar.value.detached()
        let output = batchNorm(
            input, weight: weight.value, bias: bias.value, runningMean: &mean, runningVariance: &variance,
            training: isTraining, momentum: momentum, epsilon: epsilon, rectify: rectify, replicas: replicas)
        if isTraining {
            runningMean.value = mean
            runningVar.value = variance
            numBatchesTracked.value += 1
        }
        return output
    }
}
