import Testing
import Tessera

@Suite("training against PyTorch")
struct PyTorchTrainingTests {
    static func loadReference() throws -> (model: TinyEncoderDecoder, reference: SafeTensors, x: Tensor, y: Tensor) {
        let reference = try Fixtures.load("tiny_training.safetensors")
        var generator = RandomGenerator(seed: 0)
        let model = TinyEncoderDecoder(generator: &generator)
        try model.load(reference.withPrefix("initial"), source: "tiny_training.safetensors")
        return (model, reference, try reference.tensor("input"), try reference.tensor("target"))
    }

    @Test("the tiny encoder-decoder's loss and every parameter gradient equal PyTorch's")
    func lossAndGradients() throws {
        let (model, reference, x, y) = try Self.loadReference()
        let (loss, gradients) = valueAndGradient(of: model) { TinyEncoderDecoder.loss($0(x), y) }
        expectMatchesReference(loss.reshaped([1]), try reference.tensor("loss"), "loss")
        #expect(gradients.names.count == 14)
        for (name, gradient) in gradients {
            expectMatchesReference(gradient, try reference.tensor("grad.\(name)"), "grad \(name)", absoluteTolerance: 1e-5)
        }
    }

    @Test("three optimizer steps give PyTorch's parameters and running statistics",
          arguments: ["sgd", "nesterov", "adam", "adamw"])
    func threeSteps(optimizerName: String) throws {
        let (model, reference, x, y) = try Self.loadReference()
        let optimizer: Optimizer = switch optimizerName {
        case "sgd": SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3)
        case "nesterov": SGD(learningRate: 0.05, momentum: 0.8, nesterov: true)
        case "adam": Adam(learningRate: 0.01, weightDecay: 1e-3)
        default: AdamW(learningRate: 0.01, epsilon: 1e-3, weightDecay: 0.1)
        }
        for _ in 0..<3 {
            let (_, gradients) = valueAndGradient(of: model) { TinyEncoderDecoder.loss($0(x), y) }
            optimizer.update(model, gradients: gradients)
        }
        let expected = reference.withPrefix(optimizerName)
        for (name, parameter) in model.namedParameters() {
            expectMatchesReference(parameter.value, try expected.tensor(name), "\(optimizerName) \(name)", absoluteTolerance: 1e-5)
        }
        for (name, counter) in model.allCounters() {
            #expect(counter.value == expected.integerTensors[name]?.values.first, "\(name)")
        }
    }
}
