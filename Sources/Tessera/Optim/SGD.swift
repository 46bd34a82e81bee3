/// Stochastic gradient descent with PyTorch's semantics (`torch.optim.SGD`): weight decay
/// added to the gradient, momentum buffer initialised to the first gradient, dampening,
/// and Nesterov momentum.
public final class SGD: Optimizer {
    public let momentum: Float
    public let dampening: Float
    public let nesterov: Bool
    public let weightDecay: Float

    public init(learningRate: Float, momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        require(momentum >= 0 && weightDecay >= 0, "SGD: momentum and weight decay must be ≥ 0")
        require(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum needs momentum > 0 and no dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        super.init(learningRate: learningRate)
    }

    public override func update(parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor], step: Int) {
        let (rate, momentum, dampening, nesterov, decay) = (learningRate, self.momentum, self.dampening, self.nesterov, weightDecay)
        let first = state["momentum_buffer"] == nil
        var buffer = state.removeValue(forKey: "momentum_buffer") ?? Tensor(shape: parameter.shape, repeating: 0)
        parameter.withUnsafeMutableBufferPointer { p in
            buffer.withUnsafeMutableBufferPointer { b in
                gradient.withUnsafeBufferPointer { g in
                    nonisolated(unsafe) let (p, b, g) = (p, b, g)
                    Optimizer.forEachSlice(count: p.count) { range in
                        for i in range {
                            var d = g[i] + decay * p[i]
                            if momentum != 0 {
                                b[i] = first ? d : momentum * b[i] + (1 - dampening) * d
                                d = nesterov ? d + momentum * b[i] : b[i]
                            }
                            p[i] -= rate * d
                        }
                    }
                }
            }
        }
        if momentum != 0 { state["momentum_buffer"] = buffer }
    }
}
