import Foundation
import Testing
import Tessera

/// The operations users compose their own models from, against PyTorch
/// (`scripts/make_fixtures.py tensor_operations`): values and gradients.
@Suite("tensor operations against PyTorch")
struct TensorOperationTests {
    /// The function a fixture case names, applied to its inputs in order.
    private static func operation(_ reference: FixtureCase) -> ([Tensor]) -> Tensor {
        let parameters = reference.parameters
        switch parameters["op"] as! String {
        case "avg_pool2d": return { AvgPool2d(kernelSize: Size2D(parameters["kernel"] as! Int))($0[0]) }
        case "global_avg_pool_flatten": return { GlobalAvgPool2d()($0[0]) }
        case "sum": return { $0[0].sum(alongAxis: parameters["axis"] as! Int) }
        case "mean": return { $0[0].mean(alongAxis: parameters["axis"] as! Int) }
        case "max": return { $0[0].max(alongAxis: parameters["axis"] as! Int) }
        case "+": return { $0[0] + $0[1] }
        case "-": return { $0[0] - $0[1] }
        case "*": return { $0[0] * $0[1] }
        case "/": return { $0[0] / ($0[1] * $0[1] + 1) }
        case "permute": return { $0[0].permuted(parameters["axes"] as! [Int]) }
        case "rows": return { $0[0].rows(at: parameters["indices"] as! [Int]) }
        case "matmul": return { $0[0].matmul($0[1]) }
        case "mT": return { $0[0].transposed() }
        case "exp": return { exp($0[0]) }
        case "log": return { log($0[0] * $0[0] + 0.5) }
        case "tanh": return { Tanh()($0[0]) }
        case "sigmoid": return { Sigmoid()($0[0]) }
        case "leaky_relu": return { LeakyReLU(negativeSlope: 0.1)($0[0]) }
        case "gelu": return { GELU()($0[0]) }
        case "cat": return { concatenate($0, alongAxis: parameters["axis"] as! Int) }
        case "softmax": return { softmax($0[0] * 3, alongAxis: parameters["axis"] as! Int) }
        case "log_softmax": return { logSoftmax($0[0] * 3, alongAxis: parameters["axis"] as! Int) }
        case "group_norm":
            return { groupNorm($0[0] * 2 + 1, groups: parameters["groups"] as! Int, weight: $0[1], bias: $0[2]) }
        case "layer_norm":
            return { layerNorm($0[0] * 2 + 1, normalizedShape: parameters["normalized_shape"] as! [Int], weight: $0[1], bias: $0[2]) }
        case let other: fatalError("no operation \(other)")
        }
    }

    @Test("each operation's output and gradients equal PyTorch's")
    func operationsMatchPyTorch() throws {
        let references = try FixtureCase.all(in: "tensor_operations.safetensors")
        #expect(references.count == 38)
        for reference in references {
            let names = ["input", "weight", "bias", "lhs", "rhs"].filter { reference.contents.tensors["case\(reference.index).\($0)"] != nil }
            let inputs = try names.map { try reference.tensor($0) }
            let gradOutput = try reference.tensor("grad_output")
            let function = Self.operation(reference)
            let (_, gradients) = valueAndGradient(at: inputs) { (function($0) * gradOutput).sum() }
            expectMatchesReference(function(inputs), try reference.tensor("output"), "\(reference) output")
            for (name, gradient) in zip(names, gradients) {
                expectMatchesReference(gradient, try reference.tensor("grad_\(name)"), "\(reference) grad_\(name)")
            }
        }
    }

    @Test("slicing rows, flattening and Int class indices read as PyTorch users expect")
    func conveniences() {
        let x = Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x[1..<3].scalars == [3, 4, 5, 6] && x[1..<3].shape == [2, 2])
        #expect(Flatten()(Tensor.zeros([2, 3, 4, 5])).shape == [2, 60])
        let logits = Tensor(shape: [2, 3], scalars: [2, 0, 0, 0, 3, 0])
        #expect(crossEntropy(logits, [0, 1]).scalar == crossEntropy(logits, [Int32(0), 1]).scalar)
        let (_, gradients) = valueAndGradient(at: [x]) { $0[0][0..<1].sum() }
        #expect(gradients[0].scalars == [1, 1, 0, 0, 0, 0])
    }

    @Test("GroupNorm and LayerNorm hold PyTorch's parameters and call the functions the fixtures check")
    func normalisationLayers() {
        let groupNormLayer = GroupNorm(groups: 2, channels: 4), layerNormLayer = LayerNorm(normalizedShape: [3, 5])
        #expect(groupNormLayer.namedParameters().map { "\($0.0) \($0.1.value.shape)" } == ["weight [4]", "bias [4]"])
        #expect(layerNormLayer.namedParameters().map { "\($0.0) \($0.1.value.shape)" } == ["weight [3, 5]", "bias [3, 5]"])
        #expect(GroupNorm(groups: 1, channels: 3, affine: false).namedParameters().isEmpty)
        #expect(LayerNorm(normalizedShape: [2], elementwiseAffine: false).namedParameters().isEmpty)
        var generator = RandomGenerator(seed: 4)
        let x = Tensor.normal([2, 4, 3, 5], using: &generator)
        #expect(groupNormLayer(x).scalars == groupNorm(x, groups: 2, weight: nil, bias: nil).scalars)
        let normalised = layerNormLayer(x).reshaped([8, 15])
        #expect(abs(normalised.mean(alongAxis: 1).scalars.max()!) < 1e-5)
    }

    @Test("a plain Tensor property is named once on standard error, since it would never train")
    func plainTensorPropertiesAreReported() async {
        #expect(Scaled().plainTensorProperties() == ["gamma"])
        #expect(Sequential([Scaled()]).plainTensorProperties() == ["0.gamma"])
        var generator = RandomGenerator(seed: 2)
        // Optional parameters and batch norm's optional replicas are not plain tensors, even when nil.
        #expect(Conv2d(inputChannels: 1, outputChannels: 1, kernelSize: 1, bias: false, generator: &generator).plainTensorProperties().isEmpty)
        #expect(BatchNorm2d(features: 2).plainTensorProperties().isEmpty)
        await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            let model = Sequential([Scaled()])
            for _ in 0..<3 { _ = valueAndGradient(of: model) { $0(Tensor.ones([1, 2])).sum() } }
        }.map { result in
            let text = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(text.components(separatedBy: "Sequential.0.gamma is a plain Tensor").count == 2, "\(text)")
        }
    }
}

/// A layer that holds its scale as a plain tensor, a mistake the engine reports.
private final class Scaled: Module, UnaryLayer {
    let linear: Linear
    var gamma = Tensor.ones([2])

    override init() {
        var generator = RandomGenerator(seed: 1)
        linear = Linear(inputFeatures: 2, outputFeatures: 2, generator: &generator)
    }

    func callAsFunction(_ input: Tensor) -> Tensor { linear(input) * gamma }
}
