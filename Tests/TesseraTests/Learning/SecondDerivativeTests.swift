import Foundation
import Testing
import Tessera

/// Gradients of gradients: a scope nested in another records its gradients on the
/// enclosing tape, which differentiates through them.
@Suite("second derivatives: nested scopes against finite differences of first derivatives")
struct SecondDerivativeTests {
    /// One operation whose Hessian-vector product is checked.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let shape: [Int]
        /// Whether the operation needs positive inputs.
        let positive: Bool
        let function: @Sendable (Tensor) -> Tensor
        var testDescription: String { name }

        init(_ name: String, _ shape: [Int], positive: Bool = false, _ function: @escaping @Sendable (Tensor) -> Tensor) {
            (self.name, self.shape, self.positive, self.function) = (name, shape, positive, function)
        }
    }

    /// A fixed random tensor, the same on every call.
    private static func constant(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor.normal(shape, using: &generator)
    }

    static let cases: [Case] = [
        Case("tanh", [3, 4]) { tanh($0) },
        Case("sigmoid", [3, 4]) { sigmoid($0) },
        Case("exp", [3, 4]) { exp($0) },
        Case("log", [3, 4], positive: true) { log($0) },
        Case("relu then square", [3, 4]) { relu($0) * $0 },
        Case("leakyRelu then square", [3, 4]) { leakyRelu($0, negativeSlope: 0.2) * $0 },
        Case("x · x and x / (x² + 1)", [3, 4]) { $0 * $0 + $0 / ($0 * $0 + 1) },
        Case("softmax", [2, 3, 4]) { softmax($0, alongAxis: 1) },
        Case("logSoftmax", [2, 3, 4]) { logSoftmax($0, alongAxis: 2) },
        Case("matmul with itself", [3, 3]) { $0.matmul($0.transposed()) },
        Case("batched matmul", [2, 3, 3]) { $0.matmul(tanh($0)) },
        Case("sum and mean", [3, 4]) { $0 * $0.sum() + $0.mean(alongAxis: 1).reshaped([3, 1]) * $0 },
        Case("broadcast row, permuted, reshaped", [2, 3, 4]) {
            tanh(($0 + Self.constant([4], seed: 1)).permuted([2, 0, 1]).reshaped([4, 6])) * $0.reshaped([4, 6])
        },
        Case("linear", [3, 4]) { tanh(linear($0, weight: Self.constant([5, 4], seed: 2), bias: Self.constant([5], seed: 3))) },
        Case("conv2d", [2, 2, 5, 5]) {
            tanh(conv2d($0, weight: Self.constant([3, 2, 3, 3], seed: 4), bias: Self.constant([3], seed: 5), padding: 1))
        },
        Case("strided conv2d", [1, 2, 6, 6]) {
            tanh(conv2d($0, weight: Self.constant([2, 2, 3, 3], seed: 6), stride: 2))
        },
        Case("convTranspose2d", [1, 3, 3, 3]) {
            tanh(convTranspose2d($0, weight: Self.constant([3, 2, 2, 2], seed: 7), stride: 2))
        },
        Case("pad and crop", [1, 2, 3, 3]) {
            let amounts = SpatialPadding.Amounts(top: 1, bottom: 0, left: 2, right: 1)
            return tanh(crop(pad($0, amounts) * 2, SpatialPadding.Amounts(top: 0, bottom: 1, left: 1, right: 0)))
        },
    ]

    /// `Σ v ⊙ ∇ₓ(Σ w ⊙ f(x))`, with the inner gradient from a scope of its own.
    private static func directionalGradient(_ f: (Tensor) -> Tensor, at x: Tensor, w: Tensor, v: Tensor) -> Tensor {
        let gradient = valueAndGradient(at: [x]) { (f($0[0]) * w).sum() }.gradients[0]
        return (gradient * v).sum()
    }

    @Test("the gradient of a nested scope's gradient is a Hessian-vector product", arguments: cases)
    func hessianVectorProducts(_ operation: Case) {
        var generator = RandomGenerator(seed: 31)
        var x = Tensor.normal(operation.shape, using: &generator)
        if operation.positive { x = exp(x * 0.5) }
        let w = Tensor.normal(operation.function(x).shape, using: &generator)
        let v = Tensor.normal(x.shape, using: &generator)
        let (value, gradients) = valueAndGradient(at: [x]) { Self.directionalGradient(operation.function, at: $0[0], w: w, v: v) }
        #expect(abs(value.scalar - Self.directionalGradient(operation.function, at: x, w: w, v: v).scalar) <= 1e-5)
        #expect(gradients[0].maximumAbsoluteDifference(to: .zeros(x.shape)) > 0, "zero second derivative")
        let failure = GradientCheck.mismatch(analytic: gradients[0], at: x, step: 1e-2, relativeTolerance: 2e-2) {
            Double(Self.directionalGradient(operation.function, at: $0, w: w, v: v).scalar)
        }
        #expect(failure == nil, "\(operation.name): \(failure ?? "")")
    }

    /// A loss plus half the squared norm of its gradient with respect to `x` (an
    /// input-gradient penalty); inside a parameter scope its true gradient needs the
    /// second derivatives.
    private static func penalised(_ loss: (Tensor) -> Tensor, at x: Tensor) -> Tensor {
        let (value, gradients) = valueAndGradient(at: [x]) { loss($0[0]) }
        return value + (gradients[0] * gradients[0]).sum() * 0.5
    }

    /// Checks the parameter gradients of `objective` (evaluated on `model`) against
    /// finite differences of each parameter.
    private static func checkParameterGradients<Model: Module>(
        of model: Model, _ objective: (Model) -> Tensor, tolerance: Double = 2e-2
    ) {
        let gradients = valueAndGradient(of: model, objective).gradients
        for (name, parameter) in model.trainableParameters() {
            let point = parameter.value
            #expect(gradients[name]!.maximumAbsoluteDifference(to: .zeros(point.shape)) > 0, "\(name): zero gradient")
            let failure = GradientCheck.mismatch(analytic: gradients[name]!, at: point, step: 1e-2, relativeTolerance: tolerance) {
                parameter.value = $0
                defer { parameter.value = point }
                return Double(objective(model).scalar)
            }
            #expect(failure == nil, "\(name): \(failure ?? "")")
        }
    }

    /// Two `Linear` layers of `features` (input, hidden, output) with `activation` between.
    private static func perceptron(_ features: [Int], activation: any UnaryLayer, generator: inout RandomGenerator) -> Sequential {
        Sequential([
            Linear(inputFeatures: features[0], outputFeatures: features[1], generator: &generator), activation,
            Linear(inputFeatures: features[1], outputFeatures: features[2], generator: &generator),
        ])
    }

    @Test("an input-gradient penalty on a multilayer perceptron gets its true parameter gradients")
    func inputGradientPenaltyOnAPerceptron() {
        var generator = RandomGenerator(seed: 32)
        let model = Self.perceptron([4, 6, 3], activation: Tanh(), generator: &generator)
        let x = Tensor.normal([5, 4], using: &generator)
        let labels = Tensor(shape: [5, 3], scalars: (0..<15).map { $0 % 4 == 0 ? 1 : 0 })
        let negativeLogLikelihood = { (logits: Tensor) in -(logSoftmax(logits) * labels).sum() / 5 }
        Self.checkParameterGradients(of: model) { model in Self.penalised({ negativeLogLikelihood(model($0)) }, at: x) }
        // Without the second-order part the parameter gradients would be those of the loss alone.
        let plain = valueAndGradient(of: model) { negativeLogLikelihood($0(x)) }.gradients
        let penalised = valueAndGradient(of: model) { model in Self.penalised({ negativeLogLikelihood(model($0)) }, at: x) }.gradients
        #expect(penalised["0.weight"]!.maximumAbsoluteDifference(to: plain["0.weight"]!) > 1e-3)
    }

    @Test("a gradient-norm penalty from a nested parameter scope gets its true gradients")
    func parameterGradientPenalty() {
        var generator = RandomGenerator(seed: 33)
        let model = Self.perceptron([3, 4, 2], activation: Sigmoid(), generator: &generator)
        let x = Tensor.normal([4, 3], using: &generator), y = Tensor.normal([4, 2], using: &generator)
        Self.checkParameterGradients(of: model) { model in
            let (loss, gradients) = valueAndGradient(of: model) { model in
                let error = model(x) - y
                return (error * error).mean()
            }
            return gradients.reduce(loss) { total, entry in total + (entry.gradient * entry.gradient).sum() }
        }
    }

    @Test("an input-gradient penalty on a convolutional network gets its true parameter gradients")
    func inputGradientPenaltyOnAConvolutionalNetwork() {
        var generator = RandomGenerator(seed: 34)
        let model = Sequential([
            Conv2d(inputChannels: 1, outputChannels: 3, kernelSize: 3, padding: 1, generator: &generator), Tanh(),
            Conv2d(inputChannels: 3, outputChannels: 1, kernelSize: 3, padding: 1, generator: &generator),
        ])
        let x = Tensor.normal([2, 1, 6, 6], using: &generator), y = Tensor.normal([2, 1, 6, 6], using: &generator)
        Self.checkParameterGradients(of: model) { model in
            Self.penalised({ input in
                let error = model(input) - y
                return (error * error).mean()
            }, at: x)
        }
    }

    @Test("a nested gradient used as a constant needs no second derivative")
    func detachedNestedGradient() {
        var generator = RandomGenerator(seed: 35)
        let x = Tensor.normal([1, 1, 4, 4], using: &generator)
        let (value, gradients) = valueAndGradient(at: [x]) { inputs in
            let inner = valueAndGradient(at: [inputs[0]]) { maxPool2d($0[0]).sum() }.gradients[0].detached()
            return (inputs[0] * inner).sum()
        }
        let mask = valueAndGradient(at: [x]) { maxPool2d($0[0]).sum() }.gradients[0]
        #expect(abs(value.scalar - (x * mask).sum().scalar) <= 1e-6)
        #expect(gradients[0].scalars == mask.scalars)
    }

    @Test("differentiating a gradient through a first-order-only operation stops, naming it")
    func firstOrderOnlyOperationsRefuse() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor((0..<16).map { Float($0).squareRoot() }).reshaped([1, 1, 4, 4])
            _ = valueAndGradient(at: [x]) { inputs in
                let inner = valueAndGradient(at: [inputs[0]]) { (maxPool2d($0[0]) * maxPool2d($0[0])).sum() }.gradients[0]
                return (inner * inner).sum()
            }
        }.map { result in
            #expect(String(decoding: result.standardErrorContent, as: UTF8.self).contains(
                "maxPool2d: this gradient comes from a first-order backward pass"))
        }
    }
}
