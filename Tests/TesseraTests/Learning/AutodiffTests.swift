import Testing
import Tessera

@Suite("reverse-mode autodiff")
struct AutodiffTests {
    @Test("a composite model's gradients (conv → BN → ReLU → pool → transposed conv → concat skip → 1×1 conv → loss) match finite differences")
    func compositeModelMatchesFiniteDifferences() throws {
        var generator = RandomGenerator(seed: 31)
        let model = TinyEncoderDecoder(generator: &generator)
        let x = Tensor.normal([2, 1, 8, 8], using: &generator)
        let y = Tensor.uniform([2, 1, 8, 8], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let (_, gradients) = valueAndGradient(of: model) { TinyEncoderDecoder.loss($0(x), y) }
        func loss() -> Double { Double(TinyEncoderDecoder.loss(model(x), y).scalar) }
        for (name, parameter) in model.trainableParameters() {
            let original = parameter.value
            let failure = GradientCheck.mismatch(
                analytic: gradients[name]!, at: original, step: 5e-3, relativeTolerance: 3e-2, absoluteTolerance: 2e-3, samples: 12
            ) { perturbed in
                parameter.value = perturbed
                defer { parameter.value = original }
                return loss()
            }
            #expect(failure == nil, "\(name): \(failure ?? "")")
        }
        let (_, inputGradients) = valueAndGradient(at: [x]) { TinyEncoderDecoder.loss(model($0[0]), y) }
        let inputFailure = GradientCheck.mismatch(
            analytic: inputGradients[0], at: x, step: 5e-3, relativeTolerance: 3e-2, absoluteTolerance: 2e-3, samples: 30
        ) { Double(TinyEncoderDecoder.loss(model($0), y).scalar) }
        #expect(inputFailure == nil, "input: \(inputFailure ?? "")")
    }

    @Test("a tensor used twice (fan-out) receives the sum of both gradients")
    func fanOutAccumulates() {
        let x = Tensor([1, 2, 3])
        let (value, gradients) = valueAndGradient(at: [x]) { inputs in
            let a = inputs[0]
            return (a * a + a * 3).sum()
        }
        #expect(value.scalar == 32)
        #expect(gradients[0].scalars == [5, 7, 9])
    }

    @Test("arithmetic, matmul, transpose and reshape are differentiable")
    func tensorOperations() {
        var generator = RandomGenerator(seed: 2)
        let a = Tensor.normal([3, 4], using: &generator), b = Tensor.normal([4, 2], using: &generator)
        let function: ([Tensor]) -> Tensor = { inputs in
            let product = inputs[0].matmul(inputs[1])
            return ((product - 1) / (product * product + 2)).transposed().reshaped([6]).sum() * 0.5
        }
        let (_, gradients) = valueAndGradient(at: [a, b], of: function)
        for (index, point) in [a, b].enumerated() {
            let failure = GradientCheck.mismatch(analytic: gradients[index], at: point, step: 1e-3) { perturbed in
                var inputs = [a, b]
                inputs[index] = perturbed
                return Double(function(inputs).scalar)
            }
            #expect(failure == nil, "input \(index): \(failure ?? "")")
        }
    }

    @Test("a detached tensor stops the gradient: d/dx (stop(x) · x) = x")
    func detachedStopsGradient() {
        let (_, gradients) = valueAndGradient(at: [Tensor([1, 2, 3])]) { ($0[0].detached() * $0[0]).sum() }
        #expect(gradients[0].scalars == [1, 2, 3])
    }

    @Test("a parameter the loss does not use gets a zero gradient; frozen parameters get none")
    func unusedAndFrozenParameters() {
        var generator = RandomGenerator(seed: 4)
        let model = TinyEncoderDecoder(generator: &generator)
        model.enc.freeze()
        let x = Tensor.normal([2, 1, 8, 8], using: &generator)
        let (_, gradients) = valueAndGradient(of: model) { model in model.enc(x).sum() }
        #expect(gradients["enc.0.weight"] == nil)
        #expect(gradients["out.weight"] == Tensor.zeros([1, 4, 1, 1]))
        #expect(!gradients.names.contains("enc.1.running_mean"))
    }
}
